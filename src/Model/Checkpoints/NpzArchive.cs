using System.IO.Compression;
using static TorchSharp.torch;

namespace BitActors.Model.Checkpoints;

/// <summary>
/// A NumPy <c>.npz</c> file (a zip of <c>.npy</c> arrays, stored or deflated) such as Google's BiT
/// checkpoints. Opening reads only the zip directory and each array's header; arrays are streamed one at a
/// time into their destination, so loading never holds a second copy of the weights. Each entry's declared
/// size must equal what its header describes, so a zip bomb is refused before anything is inflated.
/// </summary>
public sealed class NpzArchive : IWeightArchive
{
    private const int MaxEntries = 100_000;
    private readonly ZipArchive zip;
    private readonly Dictionary<string, (ZipArchiveEntry Entry, NpyHeader Header)> index = new(StringComparer.Ordinal);

    public NpzArchive(string path)
    {
        Path = path;
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint not found: {path}", path);
        var stream = File.OpenRead(path);
        try
        {
            zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            stream.Dispose();
            throw new CorruptCheckpointException($"{path} is not a readable .npz (zip) file: {e.Message}", e);
        }
        try
        {
            if (zip.Entries.Count > MaxEntries)
                throw new CorruptCheckpointException($"{path} holds {zip.Entries.Count} entries; more than {MaxEntries} is not a model checkpoint");
            var entries = new List<StoredTensor>();
            foreach (var entry in zip.Entries)
            {
                if (entry.FullName == MetadataMember)
                {
                    if (entry.Length > 16 << 20) throw new CorruptCheckpointException($"{path}: {MetadataMember} is {entry.Length} bytes");
                    using var json = new MemoryStream();
                    using (var data = Open(entry, $"{path} {MetadataMember}")) data.CopyTo(json);
                    Metadata = CheckpointMetadata.FromJson(json.ToArray(), path);
                    continue;
                }
                if (!entry.FullName.EndsWith(".npy", StringComparison.Ordinal))
                    throw new CorruptCheckpointException($"{path}: entry '{entry.FullName}' is not a .npy array");
                var key = entry.FullName[..^4];
                var what = $"{path} array '{key}'";
                NpyHeader header;
                using (var data = Open(entry, what)) header = NpyHeader.Read(data, what);
                var stored = new StoredTensor(key, header.Shape, header.DType);
                long expected;
                try { expected = checked(header.HeaderBytes + stored.Bytes); }
                catch (OverflowException) { throw new CorruptCheckpointException($"{what}: shape {stored.ShapeText} is absurd"); }
                if (entry.Length != expected)
                    throw new CorruptCheckpointException($"{what}: zip entry declares {entry.Length} bytes, its header describes {expected} ({stored.ShapeText} {header.DType})");
                if (!index.TryAdd(key, (entry, header)))
                    throw new CorruptCheckpointException($"{path}: array '{key}' appears twice");
                entries.Add(stored);
            }
            Entries = entries;
        }
        catch (Exception e) when (e is not CheckpointException and not OutOfMemoryException)
        {
            zip.Dispose();
            throw new CorruptCheckpointException($"{path} is not a readable .npz file: {e.Message}", e);
        }
        catch
        {
            zip.Dispose();
            throw;
        }
    }

    public string Path { get; }

    public string Format => "npz";

    public IReadOnlyList<StoredTensor> Entries { get; }

    /// <summary>The <c>bitactors.json</c> member's key/values (numpy's <c>np.load</c> returns it as bytes); empty in Google's files.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; private set; } = new Dictionary<string, string>();

    /// <summary>The zip member holding the metadata as one JSON object of strings.</summary>
    public const string MetadataMember = "bitactors.json";

    public void ReadInto(StoredTensor stored, Tensor destination)
    {
        var (entry, header) = index[stored.Key];
        var what = $"{Path} array '{stored.Key}'";
        using var data = Open(entry, what);
        NpyHeader.Read(data, what);
        if (!header.FortranOrder)
        {
            StreamReading.ReadExactlyInto(data, destination, stored.Bytes, what);
            return;
        }
        // Fortran order: the bytes are the transpose's C order.
        using var scope = NewDisposeScope();
        var reversed = stored.Shape.Reverse().ToArray();
        var raw = empty(reversed, dtype: stored.DType);
        StreamReading.ReadExactlyInto(data, raw, stored.Bytes, what);
        destination.copy_(raw.permute(Enumerable.Range(0, reversed.Length).Reverse().Select(i => (long)i).ToArray()).reshape(stored.Shape));
    }

    public void Dispose() => zip.Dispose();

    private static Stream Open(ZipArchiveEntry entry, string what)
    {
        try { return new CheckedStream(entry.Open(), what); }
        catch (Exception e) when (e is InvalidDataException or IOException or NotSupportedException) { throw new CorruptCheckpointException($"{what}: {e.Message}", e); }
    }

    /// <summary>Turns the inflater's errors on corrupt data into <see cref="CorruptCheckpointException"/>s naming the array.</summary>
    private sealed class CheckedStream(Stream inner, string what) : Stream
    {
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            try { return inner.Read(buffer); }
            catch (Exception e) when (e is InvalidDataException or IOException) { throw new CorruptCheckpointException($"{what}: {e.Message}", e); }
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        protected override void Dispose(bool disposing) { if (disposing) inner.Dispose(); base.Dispose(disposing); }
    }

    /// <summary>Writes arrays as an uncompressed .npz, one at a time (each tensor's bytes are written straight from its memory).</summary>
    public static void Write(string path, IEnumerable<(string Key, Tensor Value)> arrays, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var file = File.Create(path);
        using var zip = new ZipArchive(file, ZipArchiveMode.Create);
        if (metadata is not null)
        {
            using var stream = zip.CreateEntry(MetadataMember, CompressionLevel.NoCompression).Open();
            stream.Write(CheckpointMetadata.ToJson(metadata));
        }
        foreach (var (key, value) in arrays)
        {
            using var scope = NewDisposeScope();
            var cpu = value.detach().cpu().contiguous();
            var entry = zip.CreateEntry(key + ".npy", CompressionLevel.NoCompression);
            using var stream = entry.Open();
            NpyHeader.Write(stream, cpu.shape, cpu.dtype);
            stream.Write(cpu.bytes);
        }
    }
}
