namespace BitActors.Model.Recipe;

/// <summary>
/// Deterministic seed mixing (SplitMix64 finaliser). Unlike <see cref="HashCode"/>, which is randomised per
/// process, the same inputs give the same seed in every process: a resumed run draws what the
/// uninterrupted one drew.
/// </summary>
public static class Seeds
{
    public static int Mix(params long[] values)
    {
        ulong h = 0x9E3779B97F4A7C15UL;
        foreach (var v in values)
        {
            h ^= (ulong)v + 0x9E3779B97F4A7C15UL + (h << 6) + (h >> 2);
            h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9UL;
            h = (h ^ (h >> 27)) * 0x94D049BB133111EBUL;
            h ^= h >> 31;
        }
        return (int)(h & 0x7FFFFFFF);
    }
}
