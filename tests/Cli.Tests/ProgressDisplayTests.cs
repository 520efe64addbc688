using BitActors.Actors.Training;
using BitActors.Cli.Terminal;
using Spectre.Console;

namespace BitActors.Cli.Tests;

public class ProgressDisplayTests
{
    [Fact]
    public async Task LiveBarsShowStepLossLrAndImagesPerSecondPerTask()
    {
        var output = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.Yes, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.Yes,
            Out = new AnsiConsoleOutput(output),
        });
        console.Profile.Width = 160;

        var result = await ProgressDisplay.RunAsync(display =>
        {
            display.Show(new TrainingProgress("r", "upstream", 30, 120, 0.4567, 0.5, 0.0125, 812));
            display.Show(new TrainingProgress("r", "transfer-5shot", 7, 500, 1.25, 0.5, 0.003, 95));
            display.Finished("upstream");
            return Task.FromResult(42);
        }, console, live: true);

        Assert.Equal(42, result);
        var text = output.ToString();
        Assert.Contains("upstream  loss 0.457  lr 0.0125  812 img/s", text);
        Assert.Contains("30/120", text);
        Assert.Contains("transfer-5shot  loss 1.250  lr 0.003  95 img/s", text);
        Assert.Contains("7/500", text);
    }
}
