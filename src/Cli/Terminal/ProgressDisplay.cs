using BitActors.Actors.Training;
using BitActors.Streams.Datasets;
using Serilog;
using Serilog.Events;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace BitActors.Cli.Terminal;

/// <summary>
/// How a command shows progress: live Spectre.Console bars (step, images/s, loss, lr, ETA) when the terminal
/// is interactive, plain log lines when it is not (redirected output, CI, tests). While bars are live the
/// console log shows warnings and errors only (the run folder's log.json keeps everything).
/// </summary>
public abstract class ProgressDisplay
{
    /// <summary>A training progress report (the trainers send one every <c>progress-every</c> steps).</summary>
    public abstract void Show(TrainingProgress p);

    /// <summary>A publish progress report.</summary>
    public abstract void Show(PublishProgress p);

    /// <summary>The task (upstream or a fine-tune task) has finished or failed.</summary>
    public virtual void Finished(string task) { }

    /// <summary>Plain lines through the log, one per report.</summary>
    public static ProgressDisplay Lines() => new LineProgress();

    /// <summary>Bars need a terminal on both stdout (Spectre draws there) and stderr (the logs).</summary>
    public static bool Interactive(IAnsiConsole console) =>
        console.Profile.Capabilities.Interactive && !Console.IsOutputRedirected && !Console.IsErrorRedirected
        && Environment.GetEnvironmentVariable("BITACTORS_PROGRESS") != "lines" && !Logging.Json;

    /// <summary>Runs <paramref name="work"/> with live bars when <see cref="Interactive"/>, with plain lines otherwise.</summary>
    /// <param name="console">Where bars are drawn: the command's console (tests pass their own, with <paramref name="live"/>).</param>
    public static async Task<T> RunAsync<T>(Func<ProgressDisplay, Task<T>> work, IAnsiConsole console, bool? live = null)
    {
        if (!(live ?? Interactive(console))) return await work(Lines());
        var level = Logging.ConsoleLevel.MinimumLevel;
        Logging.ConsoleLevel.MinimumLevel = LogEventLevel.Warning;
        try
        {
            return await console.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new StepColumn(), new PercentageColumn(),
                    new RemainingTimeColumn(), new SpinnerColumn())
                .StartAsync(ctx => work(new LiveProgress(ctx)));
        }
        finally
        {
            Logging.ConsoleLevel.MinimumLevel = level;
        }
    }

    private sealed class LineProgress : ProgressDisplay
    {
        public override void Show(TrainingProgress p) =>
            Log.Information("[{Task}] step {Step}/{Total}  loss {Loss:F4}  train acc {Accuracy:P1}  lr {Lr:G3}  {Rate:F0} img/s  step {StepMs:F0} ms  data wait {WaitMs:F1} ms",
                p.Task, p.Step, p.TotalSteps, p.Loss, p.Accuracy, p.LearningRate, p.ImagesPerSecond, p.StepSeconds * 1000, p.DataWaitSeconds * 1000);

        public override void Show(PublishProgress p) =>
            Log.Information("[publish] {Split}: {Done:N0}/{Total:N0} acknowledged", p.Split, p.Acknowledged, p.Total);
    }

    /// <summary>One bar per task; its description carries loss, lr and images/s, the columns step, percentage and ETA.</summary>
    private sealed class LiveProgress(ProgressContext context) : ProgressDisplay
    {
        private readonly Dictionary<string, ProgressTask> _bars = new();

        private ProgressTask Bar(string name, double total)
        {
            lock (_bars)
            {
                if (!_bars.TryGetValue(name, out var bar)) _bars[name] = bar = context.AddTask(Markup.Escape(name), maxValue: total);
                bar.MaxValue = total;
                return bar;
            }
        }

        public override void Show(TrainingProgress p)
        {
            var bar = Bar(p.Task, p.TotalSteps);
            bar.Description = Markup.Escape($"{p.Task}  loss {p.Loss:F3}  lr {p.LearningRate:G3}  {p.ImagesPerSecond:F0} img/s");
            bar.Value = p.Step;
        }

        public override void Show(PublishProgress p)
        {
            var bar = Bar($"publish {p.Split}", p.Total);
            bar.Value = p.Acknowledged;
        }

        public override void Finished(string task)
        {
            lock (_bars)
                if (_bars.TryGetValue(task, out var bar)) bar.StopTask();
        }
    }

    /// <summary>"step/total" of a bar.</summary>
    private sealed class StepColumn : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Markup($"{task.Value:F0}/{task.MaxValue:F0}");
    }
}
