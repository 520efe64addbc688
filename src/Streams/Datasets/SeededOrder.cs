namespace BitActors.Streams.Datasets;

/// <summary>
/// A seeded random permutation of 0..Count-1 computed position by position, holding nothing that grows with
/// Count: a balanced Feistel network over the smallest even power of two ≥ Count (a bijection whatever its
/// round function), with cycle-walking back into range (each step lands in range with probability > 1/4).
/// <c>publish</c> writes records in this order, so a class-sorted source reaches Kafka shuffled.
/// </summary>
public sealed class SeededOrder
{
    private const int Rounds = 6;
    private readonly ulong[] keys = new ulong[Rounds];
    private readonly int halfBits;
    private readonly ulong halfMask;

    public SeededOrder(long count, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Count = count;
        int bits = 2;
        while ((1L << bits) < count) bits += 2;
        halfBits = bits / 2;
        halfMask = (1UL << halfBits) - 1;
        var state = (ulong)(uint)seed ^ 0x5DEECE66DUL;
        for (int r = 0; r < Rounds; r++) keys[r] = SplitMix(ref state);
    }

    public long Count { get; }

    /// <summary>The index written at <paramref name="position"/> of the order.</summary>
    public long At(long position)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(position, Count);
        var x = (ulong)position;
        do x = Permute(x); while (x >= (ulong)Count);
        return (long)x;
    }

    private ulong Permute(ulong x)
    {
        ulong left = x >> halfBits, right = x & halfMask;
        foreach (var key in keys) (left, right) = (right, left ^ (Mix(right ^ key) & halfMask));
        return (left << halfBits) | right;
    }

    private static ulong SplitMix(ref ulong state)
    {
        state += 0x9E3779B97F4A7C15UL;
        return Mix(state);
    }

    // The finaliser of SplitMix64 (Steele, Lea, Flood 2014): every input bit affects every output bit.
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
