using BitActors.Cli.Commands;
using BitActors.Cli.Terminal;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;
using Spectre.Console.Cli;

// Before any worker thread: glibc's malloc arenas capped (see MallocArenas).
MallocArenas.Limit();
try { args = Logging.Configure(args); }
catch (ArgumentException e)
{
    Console.Error.WriteLine($"bitactors: {e.Message}");
    return 2;
}
// The launcher names a file where the current operation is kept, to say what a process killed by a signal was doing.
if (Environment.GetEnvironmentVariable("BITACTORS_BREADCRUMB") is { Length: > 0 } breadcrumb)
{
    try { BitActors.Model.Training.Breadcrumb.Open(breadcrumb, "bitactors " + string.Join(' ', args.TakeWhile(a => !a.StartsWith('-')))); }
    catch (Exception e) when (e is IOException or UnauthorizedAccessException) { Serilog.Log.Warning("BITACTORS_BREADCRUMB={Path}: {Error}", breadcrumb, e.Message); }
}
var console = AnsiConsole.Console;
// Redirected output has no terminal width; Spectre would fold tables at 80 columns.
if (Console.IsOutputRedirected) console.Profile.Width = 120;
// Commands get the console they write to in their constructors (a test can give its own).
var app = new CommandApp(new TypeRegistrar(new ServiceCollection().AddSingleton(console)));
app.Configure(config =>
{
    config.SetApplicationName("bitactors");
    // `bitactors --version`: the project's <Version> (Directory.Build.props), as the assembly carries it.
    config.SetApplicationVersion(Versioning.Current);
    // Taken out of the arguments before parsing (Logging.Configure), so every command accepts it; shown here.
    config.AddExample("--log-format", "json", "node", "--roles", "trainer");
    config.ConfigureConsole(console);
    config.PropagateExceptions();
    config.AddBranch("kafka", kafka =>
    {
        kafka.SetDescription("The embedded Kafka broker.");
        kafka.AddCommand<KafkaUpCommand>("up").WithDescription("Start the embedded broker, print bootstrap=<servers>, serve until SIGINT/SIGTERM.");
    });
    config.AddCommand<PublishCommand>("publish").WithDescription("Publish a dataset (one record per image) and its manifest to Kafka.");
    config.AddCommand<DemoCommand>("demo").WithDescription("The main job: publish Fashion-MNIST, pre-train upstream, transfer to held-out classes, compare with training from scratch.");
    config.AddCommand<RunCommand>("run").WithDescription("Upstream (configured) or a given --backbone, then fine-tune tasks with the HyperRule, on datasets already published to Kafka.");
    config.AddBranch("model", model =>
    {
        model.SetDescription("Model architectures and checkpoint formats.");
        model.AddCommand<ModelInfoCommand>("info").WithDescription("Architecture summary and parameter count.");
        model.AddCommand<ModelExportCommand>("export").WithDescription("Write weights as .npz (BiT layout), .safetensors (timm names) or native: converted from --checkpoint, or freshly initialised.");
    });
    config.AddCommand<PredictCommand>("predict").WithDescription("Classify images with a checkpoint (.npz, .safetensors or native), BiT's evaluation preprocessing.");
    config.AddBranch("models", models =>
    {
        models.SetDescription("Trained-model events.");
        models.AddCommand<ModelsWatchCommand>("watch").WithDescription("Follow bit.models: a table, or one JSON object per line with --json.");
    });
    config.AddBranch("bench", bench =>
    {
        bench.SetDescription("Benchmarks (JSON with --json).");
        bench.AddCommand<BenchTrainCommand>("train").WithDescription("Training throughput of a BiT model on synthetic data (cpu or cuda).");
        bench.AddCommand<BenchPipelineCommand>("pipeline").WithDescription("Data pipeline images/s: (a) plain decode+augment loop, (b) the pipeline from the embedded broker, (c) torchvision's DataLoader; ratios b/a and b/c.");
        bench.AddCommand<BenchSoakCommand>("soak").WithDescription("Memory over a long training run from the embedded broker: RSS and managed-heap slopes (MB/min), flat or not.");
        bench.AddCommand<BenchUpstreamCommand>("upstream").WithDescription("Upstream training end to end (Kafka → decode → augment → batch → trainer actor): images/s and data wait per step.");
    });
    config.AddCommand<NodeCommand>("node").WithDescription("Join an Akka.Cluster with roles coordinator and/or trainer: fine-tune tasks pulled by trainer nodes, resumed elsewhere when a node dies.");
    config.AddBranch("report", report =>
    {
        report.SetDescription("Documents generated from committed results files.");
        report.AddCommand<ReportChooseCommand>("choose").WithDescription("Choose a setting on validation from demo runs that differ in it; record the runs, scores and pick (docs/demo/choices.json).");
        report.AddCommand<ReportReadmeCommand>("readme").WithDescription("Rewrite the README's results block from a demo's results.json (--check: only say whether it is current).");
    });
    config.AddCommand<HyperRuleCommand>("hyperrule").WithDescription("What the BiT-HyperRule decides for a dataset of a given size and image size.");
});
try
{
    return await app.RunAsync(args);
}
catch (Exception e)
{
    Logging.Fatal(e, Logging.KafkaRedaction(args));
    return 1;
}
finally
{
    Serilog.Log.CloseAndFlush();
}
