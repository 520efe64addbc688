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

    public static void Configure()
    {
        ConsoleLevel.MinimumLevel = Level;
        Log.Logger = Base().CreateLogger();
        // Broker trouble (unreachable, retrying) is said in the same log as the progress it delays.
        BitActors.Streams.Kafka.KafkaDiagnostics.Warning += message => Log.Warning("{Message}", message);
        // librdkafka's own lines (the warnings above already say what they mean) are kept for whoever debugs.
        BitActors.Streams.Kafka.KafkaDiagnostics.ClientLog += (level, line) => Log.Write(level <= 2 ? LogEventLevel.Error : LogEventLevel.Debug, "{KafkaLog}", line);
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

    private static LoggerConfiguration Base() => new LoggerConfiguration()
        .MinimumLevel.Is(Level)
        .WriteTo.Console(standardErrorFromLevel: LogEventLevel.Verbose, outputTemplate: "{Timestamp:HH:mm:ss} {Level:u3} {Message:lj}{NewLine}{Exception}",
            levelSwitch: ConsoleLevel);

    /// <summary>A failure the user can act on: its message, without a stack trace unless asked for.</summary>
    public static void Fatal(Exception e)
    {
        var inner = e is AggregateException a ? a.GetBaseException() : e;
        var redact = BitActors.Streams.Kafka.KafkaClientSettings.Current.Redact;
        // With BITACTORS_DEBUG=1 the whole exception (type, inner exceptions, stack), redacted like the message:
        // a Kafka secret may be part of any of them.
        if (Environment.GetEnvironmentVariable("BITACTORS_DEBUG") == "1") Log.Fatal("bitactors failed: {Exception}", redact(inner.ToString()));
        else Log.Fatal("bitactors failed: {Message}", redact(inner.Message));
    }
}
