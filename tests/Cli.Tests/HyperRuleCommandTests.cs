using System.Text.Json;
using BitActors.Cli.Commands;
using BitActors.Cli.Terminal;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;
using Spectre.Console.Cli;
using Spectre.Console.Testing;

namespace BitActors.Cli.Tests;

/// <summary>A command run in the test's process, writing to a <see cref="TestConsole"/> it is given as bitactors gives it the terminal.</summary>
public class HyperRuleCommandTests
{
    private static (int Code, string Output) Run(params string[] args)
    {
        var console = new TestConsole().Width(120);
        var app = new CommandApp(new TypeRegistrar(new ServiceCollection().AddSingleton<IAnsiConsole>(console)));
        app.Configure(config =>
        {
            config.ConfigureConsole(console);
            config.PropagateExceptions();
            config.AddCommand<HyperRuleCommand>("hyperrule");
        });
        return (app.Run(args), console.Output);
    }

    [Fact]
    public void JsonIsOneLineWithTheRulesDecisions()
    {
        var (code, output) = Run("hyperrule", "--examples", "50000", "--image-size", "28x28", "--json");
        Assert.Equal(0, code);
        Assert.Equal(
            """{"precrop":160,"crop":128,"mixup":0.1,"supports":[500,3000,6000,9000,10000],"lr":0.003,"batch":512,"momentum":0.9,"weight_decay":0,"steps":10000}""" + "\n",
            output);
        using var json = JsonDocument.Parse(output);
        Assert.Equal(128, json.RootElement.GetProperty("crop").GetInt32());
    }

    [Fact]
    public void TheTableSaysEachDecision()
    {
        var (code, output) = Run("hyperrule", "--examples", "100", "--image-size", "600x400");
        Assert.Equal(0, code);
        Assert.Equal("""
            ┌──────────────────────┬───────────────────────────────────────────────────┐
            │ decision             │ value                                             │
            ├──────────────────────┼───────────────────────────────────────────────────┤
            │ resize / random crop │ 512 / 480 (eval: resize to 480)                   │
            │ steps                │ 500 (warmup 100, ÷10 at 200, 300, 400)            │
            │ learning rate        │ 0.003 at batch 512, momentum 0.9, no weight decay │
            │ MixUp α              │ 0                                                 │
            └──────────────────────┴───────────────────────────────────────────────────┘

            """, output);
    }
}
