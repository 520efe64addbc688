using System.Text;
using static TorchSharp.torch;

namespace BitActors.Model.Checkpoints;

/// <summary>
/// TorchSharp's native module format (what <c>Module.save</c> writes): a 7-bit-encoded entry count, then per
/// entry the name (length-prefixed UTF-8), the dtype, the rank and dimensions (7-bit encoded) and the raw
/// bytes. Opening scans the headers and seeks past the data, so a truncated file is refused before loading.
/// </summary>
public sealed class NativeArchive : IWeightArchive
{
    private const int MaxEntries = 100_000;
    private readonly FileStream file;
    private readonly Dictionary<string, long> dataOffsets = new(StringComparer.Ordinal);

    public NativeArchive(string path)
    {
        Path = path;
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint not found: {path}", path);
        file = File.OpenRead(path);
        try
        {
            Entries = Scan();
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public string Path { get; }

    public string Format => "torchsharp";

    public IReadOnlyList<StoredTensor> Entries { get; }

    /// <summary>The trailer's metadata (see <see cref="AppendMetadata"/>); empty in files without one.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; private set; } = new Dictionary<string, string>();

    /// <summary>Marks the metadata trailer that follows the tensors (TorchSharp's loader stops after its entries and never reads it).</summary>
    private static readonly byte[] TrailerMagic = "BITAMETA"u8.ToArray();

    /// <summary>Appends <paramref name="metadata"/> to a native file: the magic, a 4-byte little-endian length, the JSON.</summary>
    public static void AppendMetadata(string path, IReadOnlyDictionary<string, string> metadata)
    {
        var json = CheckpointMetadata.ToJson(metadata);
        using var file = new FileStream(path, FileMode.Append, FileAccess.Write);
        file.Write(TrailerMagic);
        Span<byte> length = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(length, json.Length);
        file.Write(length);
        file.Write(json);
    }

    private void ReadTrailer()
    {
        long left = file.Length - file.Position;
        if (left < TrailerMagic.Length + 4) return;
        Span<byte> head = stackalloc byte[12];
        file.ReadExactly(head);
        if (!head[..8].SequenceEqual(TrailerMagic)) return;
        int length = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(head[8..]);
        if (length < 0 || length != left - 12) throw new CorruptCheckpointException($"{Path}: its metadata trailer claims {length} bytes, {left - 12} remain");
        var json = new byte[length];
        file.ReadExactly(json);
        Metadata = CheckpointMetadata.FromJson(json, Path);
    }

    private List<StoredTensor> Scan()
    {
        using var reader = new BinaryReader(file, Encoding.UTF8, leaveOpen: true);
        var entries = new List<StoredTensor>();
        try
        {
            long count = Decode(reader);
            if (count < 0 || count > MaxEntries) throw new CorruptCheckpointException($"{Path} is not a TorchSharp checkpoint (claims {count} entries)");
            for (long i = 0; i < count; i++)
            {
                var name = reader.ReadString();
                var dtype = (ScalarType)Decode(reader);
                long rank = Decode(reader);
                if (rank < 0 || rank > 16) throw new CorruptCheckpointException($"{Path}: entry '{name}' has rank {rank}");
                var shape = new long[rank];
                for (int d = 0; d < rank; d++) shape[d] = Decode(reader);
                StoredTensor entry;
                long bytes;
                try
                {
                    entry = new StoredTensor(name, shape, dtype);
                    bytes = entry.Bytes;
                }
                catch (Exception e) when (e is NotSupportedException or OverflowException)
                {
                    throw new CorruptCheckpointException($"{Path}: entry '{name}' has an unreadable dtype or shape ({e.Message})");
                }
                if (file.Position + bytes > file.Length)
                    throw new CorruptCheckpointException($"{Path} is truncated: entry '{name}' needs {bytes} bytes, {file.Length - file.Position} remain");
                if (!dataOffsets.TryAdd(name, file.Position)) throw new CorruptCheckpointException($"{Path}: entry '{name}' appears twice");
                file.Seek(bytes, SeekOrigin.Current);
                entries.Add(entry);
            }
            ReadTrailer();
        }
        catch (EndOfStreamException)
        {
            throw new CorruptCheckpointException($"{Path} is truncated (ends inside an entry header)");
        }
        catch (Exception e) when (e is not CheckpointException and not OutOfMemoryException)
        {
            throw new CorruptCheckpointException($"{Path} is not a TorchSharp checkpoint ({e.Message})", e);
        }
        return entries;
    }

    private static long Decode(BinaryReader reader)
    {
        long value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            byte b = reader.ReadByte();
            value |= (long)(b & 0x7f) << shift;
            if ((b & 0x80) == 0) return value;
        }
        throw new InvalidDataException("malformed 7-bit encoded number");
    }

    public void ReadInto(StoredTensor entry, Tensor destination)
    {
        file.Position = dataOffsets[entry.Key];
        StreamReading.ReadExactlyInto(file, destination, entry.Bytes, $"{Path} entry '{entry.Key}'");
    }

    public void Dispose() => file.Dispose();
}
