using System.Runtime.InteropServices;

namespace BitActors.Cli.Terminal;

/// <summary>
/// Caps glibc's malloc arenas for this process, as <c>MALLOC_ARENA_MAX</c> does. glibc gives threads that meet
/// contention arenas of their own, up to 8 per core; TorchSharp's and the decoders' many threads then leave
/// freed native memory scattered over those arenas (`bench soak --minutes 20`: RSS slope 0.50 ± 0.08 MB/min with
/// glibc's default, 0.28 ± 0.07 with 2 arenas; the demo's peak RSS 832 MB before, 764–771 MB with). Set first thing in
/// <c>Main</c>, before the worker threads start; <c>MALLOC_ARENA_MAX</c> in the environment wins (glibc reads
/// it itself), and <c>BITACTORS_MALLOC_ARENAS</c> changes the cap (<c>0</c>: leave glibc's default).
/// </summary>
public static class MallocArenas
{
    public const int Default = 2;
    private const int M_ARENA_MAX = -8;

    /// <summary>The cap now in force: the number set, or null when glibc's default (or the environment's) applies.</summary>
    public static int? Applied { get; private set; }

    /// <summary>The cap in force, said for reports: "2", "MALLOC_ARENA_MAX=4" or "glibc default".</summary>
    public static string Describe() =>
        Applied is { } n ? n.ToString(System.Globalization.CultureInfo.InvariantCulture)
        : Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX") is { Length: > 0 } env ? $"MALLOC_ARENA_MAX={env}"
        : "glibc default";

    public static void Limit()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX") is { Length: > 0 }) return;
        var wanted = Default;
        if (Environment.GetEnvironmentVariable("BITACTORS_MALLOC_ARENAS") is { Length: > 0 } text)
        {
            if (!int.TryParse(text, out wanted) || wanted < 0)
                throw new ArgumentException($"BITACTORS_MALLOC_ARENAS must be a whole number ≥ 0 (0: glibc's default), not '{text}'");
            if (wanted == 0) return;
        }
        try
        {
            if (mallopt(M_ARENA_MAX, wanted) == 1) Applied = wanted;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc (musl has no arenas to cap): nothing to do.
        }
    }

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int mallopt(int param, int value);
}
