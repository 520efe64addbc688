using System.Text;
using System.Text.Json;
using Confluent.Kafka;

namespace BitActors.Streams.Kafka;

/// <summary>
/// CloudEvents 1.0 in Kafka binary content mode: attributes as <c>ce_*</c> headers, data as the value
/// (JSON), key = the event's subject so one model's events stay in order.
/// </summary>
public static class CloudEvents
{
    public const string SpecVersion = "1.0";

    public static Message<string, byte[]> ToMessage(string id, string source, string type, string subject, DateTimeOffset time, object data, JsonSerializerOptions json) => new()
    {
        Key = subject,
        Value = JsonSerializer.SerializeToUtf8Bytes(data, data.GetType(), json),
        Headers =
        [
            new Header("ce_specversion", Encoding.UTF8.GetBytes(SpecVersion)),
            new Header("ce_id", Encoding.UTF8.GetBytes(id)),
            new Header("ce_source", Encoding.UTF8.GetBytes(source)),
            new Header("ce_type", Encoding.UTF8.GetBytes(type)),
            new Header("ce_subject", Encoding.UTF8.GetBytes(subject)),
            new Header("ce_time", Encoding.UTF8.GetBytes(time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ"))),
            new Header("content-type", Encoding.UTF8.GetBytes("application/json")),
        ],
    };

    /// <summary>The attributes every event has (CloudEvents 1.0 required attributes).</summary>
    public static readonly string[] Required = ["specversion", "id", "source", "type"];

    /// <summary>The attributes of a received event (for <c>models watch</c> and tests); a header without a value is left out.</summary>
    public static IReadOnlyDictionary<string, string> Attributes(Headers? headers) =>
        (headers ?? []).Where(h => h.Key.StartsWith("ce_", StringComparison.Ordinal) && h.GetValueBytes() is not null)
            .GroupBy(h => h.Key[3..]).ToDictionary(g => g.Key, g => Encoding.UTF8.GetString(g.Last().GetValueBytes()));
}
