using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace BitActors.Model.Checkpoints;

/// <summary>
/// A safetensors file (8-byte little-endian header length, JSON header, raw little-endian data). The
/// header is validated before any data is read: sizes, offsets inside the file, byte counts that match
/// the shapes, no overlaps; absurd headers are refused without allocating them.
/// </summary>
public sealed class SafetensorsArchive : IWeightArchive
{
    /// <summary>Larger JSON headers are refused (safetensors itself caps them at 100 MB).</summary>
    public const long MaxHeaderBytes = 100L << 20;

    private readonly FileStream file;
    private readonly long dataStart;
    private readonly Dictionary<string, (long Begin, long End)> offsets = new(StringComparer.Ordinal);

    public SafetensorsArchive(string path)
    {
        Path = path;
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint not found: {path}", path);
        file = File.OpenRead(path);
        try
        {
            (Entries, Metadata, dataStart) = ReadHeader();
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public string Path { get; }

    public string Format => "safetensors";

    public IReadOnlyList<StoredTensor> Entries { get; }

    public IReadOnlyDictionary<string, string> Metadata { get; }

    private (IReadOnlyList<StoredTensor>, IReadOnlyDictionary<string, string>, long) ReadHeader()
    {
        Span<byte> prefix = stackalloc byte[8];
        if (file.ReadAtLeast(prefix, 8, throwOnEndOfStream: false) < 8)
            throw new CorruptCheckpointException($"{Path} is truncated: no safetensors header");
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > (ulong)MaxHeaderBytes || (long)headerLength > file.Length - 8)
            throw new CorruptCheckpointException($"{Path}: safetensors header claims {headerLength} bytes (file is {file.Length} bytes; limit {MaxHeaderBytes})");
        var json = new byte[(int)headerLength];
        file.ReadExactly(json);
        long start = 8 + (long)headerLength, dataLength = file.Length - start;

        var entries = new List<StoredTensor>();
        var metadata = new Dictionary<string, string>();
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new CorruptCheckpointException($"{Path}: safetensors header is not a JSON object");
            var spans = new List<(long Begin, long End, string Key)>();
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (property.Name == "__metadata__")
                {
                    foreach (var m in property.Value.EnumerateObject()) metadata[m.Name] = m.Value.GetString() ?? "";
                    continue;
                }
                var value = property.Value;
                var dtype = ParseDType(value.GetProperty("dtype").GetString() ?? "", property.Name);
                var shape = value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
                var range = value.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
                if (shape.Any(d => d < 0)) throw new CorruptCheckpointException($"{Path}: tensor '{property.Name}' has a negative dimension");
                var stored = new StoredTensor(property.Name, shape, dtype);
                long bytes;
                try { bytes = stored.Bytes; }
                catch (OverflowException) { throw new CorruptCheckpointException($"{Path}: tensor '{property.Name}' shape {stored.ShapeText} is absurd"); }
                if (range.Length != 2 || range[0] < 0 || range[1] < range[0] || range[1] > dataLength)
                    throw new CorruptCheckpointException($"{Path}: tensor '{property.Name}' data_offsets [{string.Join(", ", range)}] lie outside the {dataLength} data bytes (truncated file?)");
                if (range[1] - range[0] != bytes)
                    throw new CorruptCheckpointException($"{Path}: tensor '{property.Name}' spans {range[1] - range[0]} bytes, its shape {stored.ShapeText} {dtype} needs {bytes}");
                if (!offsets.TryAdd(property.Name, (range[0], range[1])))
                    throw new CorruptCheckpointException($"{Path}: tensor '{property.Name}' appears twice");
                spans.Add((range[0], range[1], property.Name));
                entries.Add(stored);
            }
            spans.Sort();
            for (int i = 1; i < spans.Count; i++)
                if (spans[i].Begin < spans[i - 1].End)
                    throw new CorruptCheckpointException($"{Path}: tensors '{spans[i - 1].Key}' and '{spans[i].Key}' overlap");
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new CorruptCheckpointException($"{Path}: malformed safetensors header ({e.Message})", e);
        }
        return (entries, metadata, start);
    }

    public void ReadInto(StoredTensor entry, Tensor destination)
    {
        var (begin, end) = offsets[entry.Key];
        file.Position = dataStart + begin;
        StreamReading.ReadExactlyInto(file, destination, end - begin, $"{Path} tensor '{entry.Key}'");
    }

    public void Dispose() => file.Dispose();

    private ScalarType ParseDType(string dtype, string key) => dtype switch
    {
        "F64" => ScalarType.Float64,
        "F32" => ScalarType.Float32,
        "F16" => ScalarType.Float16,
        "BF16" => ScalarType.BFloat16,
        "I64" => ScalarType.Int64,
        "I32" => ScalarType.Int32,
        "I16" => ScalarType.Int16,
        "I8" => ScalarType.Int8,
        "U8" => ScalarType.Byte,
        "BOOL" => ScalarType.Bool,
        _ => throw new CorruptCheckpointException($"{Path}: tensor '{key}' has unsupported dtype '{dtype}'"),
    };

    private static string DTypeName(ScalarType dtype) => dtype switch
    {
        ScalarType.Float64 => "F64",
        ScalarType.Float32 => "F32",
        ScalarType.Float16 => "F16",
        ScalarType.BFloat16 => "BF16",
        ScalarType.Int64 => "I64",
        ScalarType.Int32 => "I32",
        ScalarType.Int16 => "I16",
        ScalarType.Int8 => "I8",
        ScalarType.Byte => "U8",
        ScalarType.Bool => "BOOL",
        _ => throw new NotSupportedException($"dtype {dtype} cannot be written to safetensors"),
    };

    /// <summary>
    /// Writes tensors in the given order with their names; the header is padded with spaces to 8 bytes so the
    /// data is aligned. Each tensor's bytes go straight from its memory to the file.
    /// </summary>
    public static void Write(string path, IReadOnlyList<(string Key, Tensor Value)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata) json.WriteString(k, v);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var (key, value) in tensors)
            {
                long bytes = value.NumberOfElements * value.ElementSize;
                json.WriteStartObject(key);
                json.WriteString("dtype", DTypeName(value.dtype));
                json.WriteStartArray("shape");
                foreach (var d in value.shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }
            json.WriteEndObject();
        }
        while (buffer.Length % 8 != 0) buffer.WriteByte((byte)' ');

        using var file = File.Create(path);
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)buffer.Length);
        file.Write(prefix);
        buffer.Position = 0;
        buffer.CopyTo(file);
        foreach (var (_, value) in tensors)
        {
            using var scope = NewDisposeScope();
            file.Write(value.detach().cpu().contiguous().bytes);
        }
    }
}
