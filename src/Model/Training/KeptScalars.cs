using TorchSharp;

namespace BitActors.Model.Training;

/// <summary>
/// Scalars that live for the whole process. TorchSharp 0.107 turns a .NET number into a temporary
/// <see cref="Scalar"/> (its own <c>add(x)</c> calls <c>add(x, 1)</c>) and nothing keeps that object alive
/// during the native call, so a GC can finalize it mid-call: libtorch then reads freed memory and fails
/// ("Expected false to be true ... toFloat"), seen here every few hundred steps while decode threads
/// allocate. Hot paths pass these instead; per-step values are held with <c>using</c>.
/// The same holds for tensor wrappers (a finalized wrapper deletes the native handle a call is still
/// reading: a segfault in libLibTorchSharp.so): all tensor work runs inside a dispose scope, which keeps
/// every wrapper it made reachable until the scope ends.
/// </summary>
public static class KeptScalars
{
    public static readonly Scalar One = 1.0.ToScalar();
    public static readonly Scalar Zero = 0.0.ToScalar();
}
