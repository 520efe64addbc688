using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BitActors.Streams.Kafka;

/// <summary>
/// Points Confluent.Kafka (and our mock-cluster bindings) at the bundled <c>centos8-librdkafka.so</c>:
/// the default <c>librdkafka.so</c> needs <c>libsasl2.so.3</c>, which Debian 12 lacks, and Debian's own
/// librdkafka 2.0.2 is too old. <c>libdl</c> resolves to <c>libdl.so.2</c> (no dev symlink on Debian).
/// </summary>
public static class KafkaNative
{
    private const string BundledLibrary = "centos8-librdkafka.so";
    private static int initialized;
    private static IntPtr handle;

#pragma warning disable CA2255 // the resolver must be in place before any Confluent.Kafka type loads
    [ModuleInitializer]
    internal static void InitializeOnLoad() => EnsureInitialized();
#pragma warning restore CA2255

    public static void EnsureInitialized()
    {
        if (Interlocked.Exchange(ref initialized, 1) == 1) return;
        NativeLibrary.SetDllImportResolver(typeof(Confluent.Kafka.Library).Assembly, Resolve);
        NativeLibrary.SetDllImportResolver(typeof(KafkaNative).Assembly, Resolve);
    }

    /// <summary>Where the bundled library was found, for diagnostics.</summary>
    public static string LibraryPath => FindBundled() ?? throw new DllNotFoundException(
        $"{BundledLibrary} not found next to the application ({AppContext.BaseDirectory}) nor under runtimes/linux-x64/native; rebuild for linux-x64.");

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name.Contains("rdkafka", StringComparison.Ordinal))
        {
            if (handle == IntPtr.Zero) handle = NativeLibrary.Load(LibraryPath);
            return handle;
        }
        if (name == "libdl") return NativeLibrary.Load("libdl.so.2");
        return IntPtr.Zero;
    }

    private static string? FindBundled()
    {
        var bases = new[] { AppContext.BaseDirectory, Path.GetDirectoryName(typeof(KafkaNative).Assembly.Location) ?? "" };
        return bases.SelectMany(b => new[] { Path.Combine(b, BundledLibrary), Path.Combine(b, "runtimes", "linux-x64", "native", BundledLibrary) })
            .FirstOrDefault(File.Exists);
    }
}
