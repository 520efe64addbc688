using BitActors.Actors.Hosting;
using BitActors.Streams.Kafka;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace BitActors.Cli.Terminal;

/// <summary>
/// Logs (Serilog; Akka's own logs arrive through Akka.Logger.Serilog) go to stderr; results (tables, JSON,
/// the bootstrap line) go to stdout. A run adds a rolling JSON-lines file in its folder (<see cref="AddRunLog"/>).
/// </summary>
public static class Logging
{
    /// <summary>The run folder's log: compact JSON (CLEF), one event per line, rolled over at 50 MB.</summary>
    public const string RunLogFile = "log.json";

    /// <summary>The level of every sink: <c>BITACTORS_LOG_LEVEL</c> (Verbose … Fatal), Information by default.</summary>
    private static readonly LogEventLevel Level =
        Environment.GetEnvironmentVariable("BITACTORS_LOG_LEVEL") is { } l && Enum.TryParse<LogEventLevel>(l, true, out var parsed) ? parsed : LogEventLevel.Information;

    /// <summary>The console's minimum level; a live progress display raises it to Warning while it runs.</summary>
    public static readonly LoggingLevelSwitch ConsoleLevel = new();

    /// <summary>
    /// The console log as one JSON object a line (<c>--log-format json</c> or <c>BITACTORS_LOG_FORMAT=json</c>):
    /// Serilog's rendered compact JSON (<c>@t</c>, <c>@l</c>, <c>@m</c>, <c>@mt</c>, <c>@x</c> and the event's
    /// properties). Progress is then logged as lines too, never drawn as live bars.
    /// </summary>
    public static bool Json { get; private set; }

    /// <summary>The formats <c>--log-format</c> takes.</summary>
    public static readonly string[] Formats = ["text", "json"];

    /// <summary>
    /// Takes <c>--log-format FORMAT</c> (or <c>--log-format=FORMAT</c>) out of <paramref name="args"/>, wherever it
    /// stands, so every command accepts it; <c>BITACTORS_LOG_FORMAT</c> is the default. Returns the other arguments.
    /// </summary>
    public static string[] Configure(string[] args)
    {
        var format = Environment.GetEnvironmentVariable("BITACTORS_LOG_FORMAT") is { Length: > 0 } env ? env : "text";
        var rest = new List<string>(args.Length);
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--") { rest.AddRange(args[i..]); break; }
            if (Option(args, ref i, "--log-format") is { } f) format = f;
            else if (args[i] == "--log-format") format = "";
            else rest.Add(args[i]);
        }
        Json = format.ToLowerInvariant() switch
        {
            "json" => true,
            "text" => false,
            _ => throw new ArgumentException($"--log-format '{format}' is not one of: {string.Join(", ", Formats)}"),
        };
        Configure();
        return [.. rest];
    }

    public static void Configure()
    {
        ConsoleLevel.MinimumLevel = Level;
        Log.Logger = Base().CreateLogger();
        // Broker trouble (unreachable, retrying) is said in the same log as the progress it delays.
        KafkaDiagnostics.Warning += message => Log.Warning("{Message}", message);
        // librdkafka's own lines (the warnings above already say what they mean) are kept for whoever debugs.
        KafkaDiagnostics.ClientLog += (level, line) => Log.Write(level <= 2 ? LogEventLevel.Error : LogEventLevel.Debug, "{KafkaLog}", line);
    }

    /// <summary>From now on, every event is also written to <c>folder/log.json</c> (with all its properties).</summary>
    public static void AddRunLog(string folder)
    {
        Directory.CreateDirectory(folder);
        var previous = Log.Logger;
        Log.Logger = Base()
            .WriteTo.File(new CompactJsonFormatter(), Path.Combine(folder, RunLogFile), fileSizeLimitBytes: 50L << 20, rollOnFileSizeLimit: true,
                retainedFileCountLimit: 10, flushToDiskInterval: TimeSpan.FromSeconds(2))
            .CreateLogger();
        (previous as IDisposable)?.Dispose();
    }

    private static LoggerConfiguration Base()
    {
        var config = new LoggerConfiguration().MinimumLevel.Is(Level);
        return Json
            ? config.WriteTo.Console(new RenderedCompactJsonFormatter(), standardErrorFromLevel: LogEventLevel.Verbose, levelSwitch: ConsoleLevel)
            : config.WriteTo.Console(standardErrorFromLevel: LogEventLevel.Verbose, outputTemplate: "{Timestamp:HH:mm:ss} {Level:u3} {Message:lj}{NewLine}{Exception}",
                levelSwitch: ConsoleLevel);
    }

    /// <summary>A failure the user can act on: its message, without a stack trace unless asked for.</summary>
    /// <param name="redact">Hides the Kafka secrets the command may have had (<see cref="KafkaRedaction"/>).</param>
    public static void Fatal(Exception e, Func<string, string> redact)
    {
        var inner = e is AggregateException a ? a.GetBaseException() : e;
        // With BITACTORS_DEBUG=1 the whole exception (type, inner exceptions, stack), redacted like the message:
        // a Kafka secret may be part of any of them.
        if (Environment.GetEnvironmentVariable("BITACTORS_DEBUG") == "1") Log.Fatal("bitactors failed: {Exception:l}", redact(inner.ToString()));
        else Log.Fatal("bitactors failed: {Message:l}", redact(inner.Message));
    }

    /// <summary>
    /// The last line of defence for <see cref="Fatal"/>: the secrets of the Kafka client settings the command on
    /// <paramref name="args"/> could have been given (environment, its <c>--config</c> file, its <c>--set</c> flags),
    /// read here as well because a failure may come before or outside the command's own reading. A layer that cannot
    /// be read is left out (the command itself says why).
    /// </summary>
    public static Func<string, string> KafkaRedaction(IReadOnlyList<string> args)
    {
        string? file = null;
        var sets = new List<string>();
        for (int i = 0; i < args.Count; i++)
        {
            if (Option(args, ref i, "--config") is { } f) file = f;
            else if (Option(args, ref i, "--set") is { } s) sets.Add(s);
        }
        foreach (var (configFile, settings) in new[] { (file, sets), (file, []), (null, []) })
        {
            try { return BitActorsConfig.KafkaClient(BitActorsConfig.Load(configFile, settings)).Redact; }
            catch (Exception) { }
        }
        try { return KafkaClientSettings.From([], Environment.GetEnvironmentVariables()).Redact; }
        catch (Exception) { return text => text; }
    }

    // "--name value" or "--name=value".
    private static string? Option(IReadOnlyList<string> args, ref int i, string name)
    {
        if (args[i] == name && i + 1 < args.Count) return args[++i];
        return args[i].StartsWith(name + "=", StringComparison.Ordinal) ? args[i][(name.Length + 1)..] : null;
    }
}
