using System.Collections.Concurrent;
using Confluent.Kafka;

namespace BitActors.Streams.Kafka;

/// <summary>
/// What the Kafka clients go through while they retry (a broker down, all brokers down, a leader moved),
/// said as a plain warning: the same kind of message from the same client at most once per <see cref="Quiet"/>.
/// librdkafka's own log lines (<c>%3|…|FAIL|…</c>, which it would print to stderr) come to <see cref="ClientLog"/>
/// instead, redacted; the CLI keeps them in its log at Debug level. The clients keep retrying on their own (records wait
/// in the producer's queue, the consumer fetches again); these warnings only say what is happening.
/// </summary>
public static class KafkaDiagnostics
{
    public static readonly TimeSpan Quiet = TimeSpan.FromSeconds(5);

    private static readonly ConcurrentDictionary<string, DateTime> lastSaid = new();

    /// <summary>Receives each warning; the CLI routes it to its log. None attached: stderr.</summary>
    public static event Action<string>? Warning;

    internal static void OnError(IClient client, Error error, KafkaClientSettings settings)
    {
        var what = error.Code switch
        {
            ErrorCode.Local_AllBrokersDown => "all brokers unreachable",
            ErrorCode.Local_Transport => "broker unreachable",
            _ => error.IsFatal ? "fatal client error" : "client error",
        };
        var retrying = error.IsFatal ? "" : "; retrying";
        Say($"{NameOf(client)}/{error.Code}", $"Kafka: {what} ({error.Reason}){retrying}", settings);
    }

    /// <summary>Receives librdkafka's log lines: syslog level (0 emergency … 7 debug) and the line. None attached: dropped.</summary>
    public static event Action<int, string>? ClientLog;

    /// <summary>The clients' log handler. It runs on librdkafka's threads, also while a client is being built, so it
    /// must not touch the client (its handle may not exist yet): what it says comes from the message alone.</summary>
    internal static void OnLog(IClient _, LogMessage message, KafkaClientSettings settings)
    {
        try
        {
            var sink = ClientLog;
            if (sink is null) return;
            sink((int)message.Level, settings.Redact($"librdkafka {message.Name} {message.Facility}: {message.Message}"));
        }
        catch (Exception) { }
    }

    /// <summary>Also gives a warning to the same sink (the record source says it is waiting for a broker), redacted with
    /// <paramref name="settings"/> when the text holds what a client said.</summary>
    public static void Warn(string kind, string text, KafkaClientSettings? settings = null) => Say(kind, text, settings ?? KafkaClientSettings.Empty);

    // Handlers run on the clients' threads: nothing may throw out of them, it would take the process down.
    private static string NameOf(IClient client)
    {
        try { return client.Name ?? "kafka"; }
        catch (Exception) { return "kafka"; }
    }

    /// <param name="settings">The settings of the client that speaks: their secrets are redacted.</param>
    private static void Say(string kind, string text, KafkaClientSettings settings)
    {
        try
        {
            var now = DateTime.UtcNow;
            if (lastSaid.TryGetValue(kind, out var last) && now - last < Quiet) return;
            lastSaid[kind] = now;
            text = settings.Redact(text);
            var sink = Warning;
            if (sink is null) Console.Error.WriteLine(text);
            else sink(text);
        }
        catch (Exception) { }
    }
}
