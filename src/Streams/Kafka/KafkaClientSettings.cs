using System.Collections;
using Confluent.Kafka;

namespace BitActors.Streams.Kafka;

/// <summary>
/// librdkafka properties that every client gets (producers, consumers, admin clients): security
/// (<c>security.protocol</c>, <c>sasl.*</c>, <c>ssl.*</c>) or any other client setting. They come from
/// <c>bitactors.kafka.client</c> in the configuration and from <c>BITACTORS_KAFKA_*</c> environment variables
/// (<c>BITACTORS_KAFKA_SASL_PASSWORD</c> → <c>sasl.password</c>), the environment winning. Secret values never
/// leave this class in clear: <see cref="Describe"/> and <see cref="Redact"/> show them as <c>[redacted]</c>.
/// </summary>
public sealed class KafkaClientSettings
{
    public const string EnvironmentPrefix = "BITACTORS_KAFKA_";
    public const string Hidden = "[redacted]";

    /// <summary>Properties set elsewhere: a client setting them here would talk to another cluster or group.</summary>
    private static readonly HashSet<string> Reserved = ["bootstrap.servers", "metadata.broker.list", "group.id"];

    public static readonly KafkaClientSettings Empty = new(new Dictionary<string, string>());

    private KafkaClientSettings(IReadOnlyDictionary<string, string> properties) => Properties = properties;

    public IReadOnlyDictionary<string, string> Properties { get; }

    public bool IsEmpty => Properties.Count == 0;

    /// <param name="configured">Properties from the configuration (librdkafka names).</param>
    /// <param name="environment">Environment variables; those named <c>BITACTORS_KAFKA_*</c> are taken.</param>
    public static KafkaClientSettings From(IEnumerable<KeyValuePair<string, string>> configured, IDictionary environment)
    {
        var properties = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in configured) properties[key] = value;
        foreach (DictionaryEntry e in environment)
            if (e.Key is string name && name.StartsWith(EnvironmentPrefix, StringComparison.Ordinal) && name.Length > EnvironmentPrefix.Length)
                properties[name[EnvironmentPrefix.Length..].ToLowerInvariant().Replace('_', '.')] = e.Value as string ?? "";
        foreach (var key in properties.Keys)
            if (Reserved.Contains(key))
                throw new ArgumentException($"Kafka client property '{key}' cannot be set in bitactors.kafka.client or {EnvironmentPrefix}*: " +
                    "bootstrap servers come from --bootstrap-servers or bitactors.kafka.bootstrap-servers, groups from the commands");
        return new KafkaClientSettings(properties);
    }

    public void ApplyTo(ClientConfig config)
    {
        foreach (var (key, value) in Properties) config.Set(key, value);
    }

    /// <summary>Secrets: passwords, keys, tokens, JAAS and OAuth configurations.</summary>
    public static bool IsSecret(string key) =>
        key.Contains("password", StringComparison.OrdinalIgnoreCase) || key.Contains("secret", StringComparison.OrdinalIgnoreCase)
        || key.EndsWith(".pem", StringComparison.OrdinalIgnoreCase) || key.Contains("jaas", StringComparison.OrdinalIgnoreCase)
        || key.Contains("token", StringComparison.OrdinalIgnoreCase) || key.Equals("sasl.oauthbearer.config", StringComparison.OrdinalIgnoreCase);

    /// <summary>The properties as <c>key=value</c> pairs for a log line, secrets hidden.</summary>
    public string Describe() => string.Join(" ", Properties.OrderBy(p => p.Key, StringComparer.Ordinal)
        .Select(p => $"{p.Key}={(IsSecret(p.Key) ? Hidden : p.Value)}"));

    /// <summary>The text with every secret value of these settings replaced by <c>[redacted]</c>.</summary>
    public string Redact(string text)
    {
        foreach (var (key, value) in Properties)
            if (IsSecret(key) && value.Length > 0) text = text.Replace(value, Hidden, StringComparison.Ordinal);
        return text;
    }
}
