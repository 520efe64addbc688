using System.Text;
using BitActors.Streams.Datasets;
using Confluent.Kafka;

namespace BitActors.Streams.Kafka;

/// <summary>
/// How every reader of a data split turns a Kafka record into an <see cref="ImageRecord"/>, whoever wrote it. It
/// never throws: a record it cannot use — no <c>bit.labels</c> header, one without a value, empty or not a list of
/// class ids; a <c>bit.index</c> header without a value or not a number; an empty or missing value — comes out with
/// a <see cref="ImageRecord.Defect"/> naming why, for the pipeline to refuse (dead-letter) by that reason. One bad
/// record must never stop a reader: a reader that failed on it would meet it again at every restart. A missing
/// <c>bit.index</c> is not a defect: the record's offset stands in for it.
/// </summary>
public static class RecordParser
{
    public static ImageRecord Parse(ConsumeResult<string, byte[]> result, int epoch)
    {
        var (message, topic, offset) = (result.Message, result.Topic, result.Offset.Value);
        var (labels, labelDefect) = Labels(message.Headers, topic, offset);
        var (index, indexDefect) = Index(message.Headers, topic, offset);
        var value = message.Value ?? [];
        var defect = labelDefect ?? indexDefect ?? (value.Length == 0 ? $"{topic}@{offset}: empty value: no image bytes" : null);
        return new ImageRecord(topic, result.Partition.Value, offset, message.Key ?? "", index, labels, value, epoch, defect);
    }

    /// <summary>The class ids of <c>bit.labels</c> (comma-separated), or none and why they cannot be read.</summary>
    public static (int[] Labels, string? Defect) Labels(Headers? headers, string topic, long offset)
    {
        var header = headers?.FirstOrDefault(h => h.Key == Topics.Headers.Labels);
        if (header is null) return ([], $"{topic}@{offset}: missing header {Topics.Headers.Labels}");
        if (header.GetValueBytes() is not { } bytes) return ([], $"{topic}@{offset}: header {Topics.Headers.Labels} has no value");
        var text = Encoding.UTF8.GetString(bytes);
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0) return ([], $"{topic}@{offset}: empty {Topics.Headers.Labels} header");
        var labels = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], out labels[i])) return ([], $"{topic}@{offset}: bad {Topics.Headers.Labels} header '{Shorten(text)}'");
        return (labels, null);
    }

    /// <summary>The sample index of <c>bit.index</c>; the offset when the header is missing; and why a header that is there cannot be read.</summary>
    public static (long Index, string? Defect) Index(Headers? headers, string topic, long offset)
    {
        var header = headers?.FirstOrDefault(h => h.Key == Topics.Headers.Index);
        if (header is null) return (offset, null);
        if (header.GetValueBytes() is not { } bytes) return (offset, $"{topic}@{offset}: header {Topics.Headers.Index} has no value");
        var text = Encoding.UTF8.GetString(bytes);
        return long.TryParse(text, out var index) ? (index, null) : (offset, $"{topic}@{offset}: bad {Topics.Headers.Index} header '{Shorten(text)}'");
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
