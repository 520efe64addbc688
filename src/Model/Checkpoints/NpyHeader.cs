using System.Text;
using System.Text.RegularExpressions;
using static TorchSharp.torch;

namespace BitActors.Model.Checkpoints;

/// <summary>
/// The header of a NumPy <c>.npy</c> array (format versions 1–3): magic, version, and a Python dict
/// literal with <c>descr</c>, <c>fortran_order</c> and <c>shape</c>. Only plain little-endian numeric
/// arrays are accepted; object arrays (pickles) are refused.
/// </summary>
public sealed partial record NpyHeader(long[] Shape, ScalarType DType, bool FortranOrder, int HeaderBytes)
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];
    private const int MaxHeaderText = 1 << 16;

    public static NpyHeader Read(Stream stream, string what)
    {
        Span<byte> prefix = stackalloc byte[10];
        if (stream.ReadAtLeast(prefix, 10, throwOnEndOfStream: false) < 10)
            throw new CorruptCheckpointException($"{what}: truncated .npy header");
        if (!prefix[..6].SequenceEqual(Magic))
            throw new CorruptCheckpointException($"{what}: not a .npy array (bad magic)");
        int major = prefix[6];
        int headerLength, fixedBytes;
        if (major == 1)
        {
            headerLength = prefix[8] | (prefix[9] << 8);
            fixedBytes = 10;
        }
        else if (major is 2 or 3)
        {
            Span<byte> rest = stackalloc byte[2];
            if (stream.ReadAtLeast(rest, 2, throwOnEndOfStream: false) < 2)
                throw new CorruptCheckpointException($"{what}: truncated .npy header");
            long length = (uint)(prefix[8] | (prefix[9] << 8) | (rest[0] << 16) | (rest[1] << 24));
            if (length > MaxHeaderText) throw new CorruptCheckpointException($"{what}: .npy header of {length} bytes is absurd");
            headerLength = (int)length;
            fixedBytes = 12;
        }
        else throw new CorruptCheckpointException($"{what}: unsupported .npy version {major}");

        var text = new byte[headerLength];
        if (stream.ReadAtLeast(text, headerLength, throwOnEndOfStream: false) < headerLength)
            throw new CorruptCheckpointException($"{what}: truncated .npy header");
        return Parse(Encoding.Latin1.GetString(text), what, fixedBytes + headerLength);
    }

    private static NpyHeader Parse(string dict, string what, int headerBytes)
    {
        var descr = DescrPattern().Match(dict);
        var fortran = FortranPattern().Match(dict);
        var shape = ShapePattern().Match(dict);
        if (!descr.Success || !fortran.Success || !shape.Success)
            throw new CorruptCheckpointException($"{what}: malformed .npy header {dict.Trim()}");
        var dtype = descr.Groups[1].Value switch
        {
            "<f4" => ScalarType.Float32,
            "<f8" => ScalarType.Float64,
            "<f2" => ScalarType.Float16,
            "<i8" => ScalarType.Int64,
            "<i4" => ScalarType.Int32,
            "<i2" => ScalarType.Int16,
            "|i1" => ScalarType.Int8,
            "|u1" => ScalarType.Byte,
            "|b1" => ScalarType.Bool,
            var other => throw new CorruptCheckpointException($"{what}: unsupported array dtype '{other}' (expected little-endian numbers such as '<f4')"),
        };
        var dims = shape.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var parsed = new long[dims.Length];
        for (int i = 0; i < dims.Length; i++)
            if (!long.TryParse(dims[i].TrimEnd('L'), out parsed[i]) || parsed[i] < 0)
                throw new CorruptCheckpointException($"{what}: bad dimension '{dims[i]}' in .npy shape");
        return new NpyHeader(parsed, dtype, fortran.Groups[1].Value == "True", headerBytes);
    }

    /// <summary>Writes a version-1 header, padded with spaces so the data starts on a 64-byte boundary (as NumPy does).</summary>
    public static void Write(Stream stream, long[] shape, ScalarType dtype)
    {
        var descr = dtype switch
        {
            ScalarType.Float32 => "<f4",
            ScalarType.Float64 => "<f8",
            ScalarType.Float16 => "<f2",
            ScalarType.Int64 => "<i8",
            ScalarType.Int32 => "<i4",
            _ => throw new NotSupportedException($"dtype {dtype} cannot be written to .npy"),
        };
        var shapeText = shape.Length == 1 ? $"({shape[0]},)" : "(" + string.Join(", ", shape) + ")";
        var dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shapeText}, }}";
        int total = 10 + dict.Length + 1;
        int padded = (total + 63) / 64 * 64;
        var header = dict + new string(' ', padded - total) + "\n";
        stream.Write(Magic);
        stream.WriteByte(1);
        stream.WriteByte(0);
        stream.WriteByte((byte)(header.Length & 0xff));
        stream.WriteByte((byte)(header.Length >> 8));
        stream.Write(Encoding.Latin1.GetBytes(header));
    }

    [GeneratedRegex(@"'descr'\s*:\s*'([^']*)'")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")]
    private static partial Regex FortranPattern();

    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();
}
