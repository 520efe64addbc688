using static TorchSharp.torch;

namespace BitActors.Model.Checkpoints;

/// <summary>One array in a checkpoint file, described from its header before any data is read.</summary>
public sealed record StoredTensor(string Key, long[] Shape, ScalarType DType)
{
    public long Elements => Shape.Aggregate(1L, (a, b) => checked(a * b));

    public long Bytes => checked(Elements * ElementSize(DType));

    public string ShapeText => "[" + string.Join(", ", Shape) + "]";

    public static int ElementSize(ScalarType dtype) => dtype switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        ScalarType.Byte or ScalarType.Int8 or ScalarType.Bool => 1,
        _ => throw new NotSupportedException($"dtype {dtype} is not supported in checkpoints"),
    };
}

/// <summary>
/// A checkpoint file opened for reading: the arrays' names and shapes come from its header (nothing is
/// loaded); <see cref="ReadInto"/> streams one array's bytes straight into a tensor's memory.
/// </summary>
public interface IWeightArchive : IDisposable
{
    string Path { get; }

    /// <summary>"npz" or "safetensors".</summary>
    string Format { get; }

    IReadOnlyList<StoredTensor> Entries { get; }

    /// <summary>Text metadata kept with the weights (safetensors' <c>__metadata__</c>); empty where the format has none.</summary>
    IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Reads <paramref name="entry"/> into <paramref name="destination"/>: a contiguous CPU tensor of the entry's dtype and element count.</summary>
    void ReadInto(StoredTensor entry, Tensor destination);
}

/// <summary>A checkpoint that cannot be used; the message names the file and what is wrong.</summary>
public abstract class CheckpointException(string message, Exception? inner = null) : IOException(message, inner);

/// <summary>A checkpoint that cannot be read: truncated, corrupt, hostile or of an unsupported kind. The message names the file and what is wrong.</summary>
public sealed class CorruptCheckpointException(string message, Exception? inner = null) : CheckpointException(message, inner);

/// <summary>A readable checkpoint whose arrays do not fit the model: lists every missing, unexpected and mis-shaped key.</summary>
public sealed class CheckpointMismatchException(string path, string model, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> misshaped)
    : CheckpointException(Describe(path, model, missing, unexpected, misshaped))
{
    public IReadOnlyList<string> Missing { get; } = missing;
    public IReadOnlyList<string> Unexpected { get; } = unexpected;
    public IReadOnlyList<string> Misshaped { get; } = misshaped;

    private static string Describe(string path, string model, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> misshaped)
    {
        var parts = new List<string>();
        if (missing.Count > 0) parts.Add($"{missing.Count} missing key(s): {List(missing)}");
        if (unexpected.Count > 0) parts.Add($"{unexpected.Count} unexpected key(s): {List(unexpected)}");
        if (misshaped.Count > 0) parts.Add($"{misshaped.Count} mis-shaped key(s): {List(misshaped)}");
        return $"{path} does not fit {model}: {string.Join("; ", parts)}";
    }

    private static string List(IReadOnlyList<string> keys) =>
        string.Join(", ", keys.Take(8)) + (keys.Count > 8 ? $", … ({keys.Count - 8} more)" : "");
}

internal static class StreamReading
{
    /// <summary>Reads exactly <paramref name="bytes"/> bytes into the tensor's memory, in chunks, naming the file when it ends early.</summary>
    public static void ReadExactlyInto(Stream stream, Tensor destination, long bytes, string what)
    {
        var target = destination.bytes;
        if (target.Length != bytes)
            throw new ArgumentException($"{what}: destination holds {target.Length} bytes, the entry {bytes}");
        const int chunk = 1 << 22;
        int done = 0;
        while (done < target.Length)
        {
            int want = Math.Min(chunk, target.Length - done);
            int got = stream.Read(target.Slice(done, want));
            if (got == 0)
                throw new CorruptCheckpointException($"{what} is truncated: {done} of {bytes} bytes present");
            done += got;
        }
    }
}
