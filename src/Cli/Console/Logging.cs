using Serilog;
using Serilog.Events;

namespace BitActors.Cli.Console;

/// <summary>Logs and progress go to stderr; results (tables, JSON, the bootstrap line) go to stdout.</summary>
public static class Logging
{
    public static void Configure()
    {
        var level = Environment.GetEnvironmentVariable("BITACTORS_LOG_LEVEL") is { } l && Enum.TryParse<LogEventLevel>(l, true, out var parsed)
            ? parsed : LogEventLevel.Information;
        Log.Logger = new LoggerConfiguration()
            .MinimumLevel.Is(level)
            .WriteTo.Console(standardErrorFromLevel: LogEventLevel.Verbose, outputTemplate: "{Timestamp:HH:mm:ss} {Level:u3} {Message:lj}{NewLine}{Exception}")
            .CreateLogger();
        // Broker trouble (unreachable, retrying) is said in the same log as the progress it delays.
        BitActors.Streams.Kafka.KafkaDiagnostics.Warning += message => Log.Warning("{Message}", message);
    }

    /// <summary>A failure the user can act on: its message, without a stack trace unless asked for.</summary>
    public static void Fatal(Exception e)
    {
        var inner = e is AggregateException a ? a.GetBaseException() : e;
        if (Environment.GetEnvironmentVariable("BITACTORS_DEBUG") == "1") Log.Fatal(inner, "bitactors failed");
        else Log.Fatal("bitactors failed: {Message}", BitActors.Streams.Kafka.KafkaClientSettings.Current.Redact(inner.Message));
    }
}
