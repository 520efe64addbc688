using System.Buffers.Binary;
using System.Text;
using BitActors.Actors.Telemetry;

namespace BitActors.Actors.Tests;

/// <summary>
/// Reads TensorBoard event files the way TensorBoard does, written here from the formats rather than with the writer's
/// code: TFRecord framing (length, masked CRC-32C of the length, the record, masked CRC-32C of the record) around
/// <c>tensorflow.Event</c> protobufs (1 wall_time double, 2 step int64, 5 summary), whose <c>Summary.value</c> (1) holds
/// <c>tag</c> (1) and <c>simple_value</c> (2, a float).
/// </summary>
internal static class TensorBoardEvents
{
    public sealed record Scalar(string Tag, long Step, float Value, double WallTime);

    /// <summary>
    /// Every number of every metrics.jsonl line in <paramref name="folder"/> is in its event files as TASK/NAME at the
    /// line's step (as a float), and nothing else is: the two agree. Wall times are seconds since the epoch, as TensorBoard reads them.
    /// </summary>
    public static void AssertAgree(string folder)
    {
        var lines = MetricsLog.Read(Path.Combine(folder, MetricsLog.File));
        var scalars = Read(folder);
        var expected = lines.SelectMany(l => MetricsWriter.Scalars(l).Select(s => (Tag: $"{l.Task}/{s.Name}", (long)l.Step, Value: (float)s.Value))).ToList();
        Assert.NotEmpty(expected);
        Assert.Equal(expected.Order(), scalars.Select(s => (s.Tag, s.Step, s.Value)).Order());
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Assert.All(scalars, s => Assert.InRange(s.WallTime, now - 3600, now + 60));
    }

    /// <summary>Every scalar of every <c>events.out.tfevents.*</c> file directly in <paramref name="folder"/>.</summary>
    public static List<Scalar> Read(string folder)
    {
        var files = Directory.GetFiles(folder, "events.out.tfevents.*");
        if (files.Length == 0) throw new Xunit.Sdk.XunitException($"no TensorBoard event file in {folder}");
        return files.SelectMany(f => Records(File.ReadAllBytes(f), f)).SelectMany(Scalars).ToList();
    }

    private static IEnumerable<byte[]> Records(byte[] file, string name)
    {
        for (int at = 0; at < file.Length;)
        {
            var length = BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(at));
            Check(file.AsSpan(at, 8), BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at + 8)), $"{name}@{at}: length");
            var record = file.AsSpan(at + 12, (int)length).ToArray();
            Check(record, BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at + 12 + (int)length)), $"{name}@{at}: record");
            at += 12 + (int)length + 4;
            yield return record;
        }
    }

    private static IEnumerable<Scalar> Scalars(byte[] eventBytes)
    {
        double wall = 0;
        long step = 0;
        var summaries = new List<byte[]>();
        foreach (var (field, value, bytes) in Fields(eventBytes))
        {
            if (field == 1) wall = BitConverter.Int64BitsToDouble((long)value);
            if (field == 2) step = (long)value;
            if (field == 5) summaries.Add(bytes!);
        }
        foreach (var summary in summaries)
            foreach (var (field, _, item) in Fields(summary))
            {
                if (field != 1) continue;
                string? tag = null;
                float? simple = null;
                foreach (var (f, v, b) in Fields(item!))
                {
                    if (f == 1) tag = Encoding.UTF8.GetString(b!);
                    if (f == 2) simple = BitConverter.Int32BitsToSingle((int)v);
                }
                if (tag is not null && simple is float s) yield return new Scalar(tag, step, s, wall);
            }
    }

    /// <summary>A protobuf message's fields: number, the value of a varint or fixed field, the bytes of a length-delimited one.</summary>
    private static IEnumerable<(int Field, ulong Value, byte[]? Bytes)> Fields(byte[] message)
    {
        for (int at = 0; at < message.Length;)
        {
            var key = Varint(message, ref at);
            int field = (int)(key >> 3);
            switch (key & 7)
            {
                case 0: yield return (field, Varint(message, ref at), null); break;
                case 1: yield return (field, BinaryPrimitives.ReadUInt64LittleEndian(message.AsSpan(at)), null); at += 8; break;
                case 5: yield return (field, BinaryPrimitives.ReadUInt32LittleEndian(message.AsSpan(at)), null); at += 4; break;
                case 2:
                    var length = (int)Varint(message, ref at);
                    yield return (field, 0, message.AsSpan(at, length).ToArray());
                    at += length;
                    break;
                default: throw new InvalidDataException($"wire type {key & 7}");
            }
        }
    }

    private static ulong Varint(byte[] data, ref int at)
    {
        ulong value = 0;
        for (int shift = 0; ; shift += 7)
        {
            var b = data[at++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80) return value;
        }
    }

    private static void Check(ReadOnlySpan<byte> data, uint masked, string what)
    {
        uint crc = ~0u;
        foreach (var b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
        }
        crc = ~crc;
        var expected = ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
        if (expected != masked) throw new InvalidDataException($"{what}: CRC-32C mismatch");
    }
}
