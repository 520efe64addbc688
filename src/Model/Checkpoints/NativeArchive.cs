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

    public IReadOnlyDictionary<string, string> Metadata { get; } = new Dictionary<string, string>();

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
