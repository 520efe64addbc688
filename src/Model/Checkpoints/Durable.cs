using System.Runtime.InteropServices;

namespace BitActors.Model.Checkpoints;

/// <summary>
/// Crash-safe replacement of a file: its contents reach the disk before the rename (fsync of the file) and the
/// rename reaches it after (fsync of its folder). A rename alone is atomic for running processes, but after a power
/// loss a file system with delayed allocation (ext4, xfs) may have kept the rename and not the data, leaving an empty
/// or partial file under the final name, or lost the rename of a checkpoint already reported as written.
/// </summary>
public static partial class Durable
{
    /// <summary>Moves the fully written <paramref name="tmp"/> over <paramref name="path"/>, durably (see the class).</summary>
    public static void Replace(string tmp, string path)
    {
        FlushFile(tmp);
        File.Move(tmp, path, overwrite: true);
        FlushFolderOf(path);
    }

    /// <summary>fsync(2) of a written file.</summary>
    public static void FlushFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>fsync(2) of the folder holding <paramref name="path"/>, so that a rename or a new name in it is on disk (Linux; elsewhere a no-op).</summary>
    public static void FlushFolderOf(string path)
    {
        if (!OperatingSystem.IsLinux()) return;
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        int fd = Open(folder, ReadOnlyDirectory);
        if (fd < 0) throw new IOException($"cannot open {folder} to flush it: errno {Marshal.GetLastPInvokeError()}");
        try
        {
            // EINVAL/ENOTSUP: a file system that cannot sync a folder (some network and FUSE mounts); the rename stands.
            if (FSync(fd) != 0 && Marshal.GetLastPInvokeError() is var errno && errno is not (22 or 95))
                throw new IOException($"fsync of {folder} failed: errno {errno}");
        }
        finally { Close(fd); }
    }

    private const int ReadOnlyDirectory = 0x10000; // O_RDONLY | O_DIRECTORY on Linux

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FSync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
