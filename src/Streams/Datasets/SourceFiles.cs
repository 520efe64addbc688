using Mono.Unix;
using Mono.Unix.Native;

namespace BitActors.Streams.Datasets;

/// <summary>
/// Reads source files without hanging or crashing on what is not a regular file: the type is looked up
/// (stat, following links) before anything is opened, so a FIFO — whose open blocks until a writer
/// comes — a socket or a device is named and refused, as are symlink loops, dangling symlinks, files that
/// cannot be read and files larger than a limit.
/// </summary>
public static class SourceFiles
{
    /// <summary>The file's bytes; <see cref="InvalidImageException"/> naming it and the reason otherwise.</summary>
    public static byte[] Read(string path, long maxBytes)
    {
        if (Problem(path, maxBytes) is { } reason) throw new InvalidImageException(path, reason);
        try { return File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new InvalidImageException(path, $"cannot be read: {e.Message}"); }
    }

    /// <summary>Why the file cannot be read as an image file, or null when it can.</summary>
    public static string? Problem(string path, long maxBytes)
    {
        if (Syscall.stat(path, out var stat) != 0)
        {
            var errno = Stdlib.GetLastError();
            return errno switch
            {
                Errno.ELOOP => "a symlink loop (too many levels of symbolic links)",
                Errno.ENOENT => "a dangling symlink (its target does not exist)",
                Errno.EACCES => "not readable (permission denied)",
                _ => $"cannot be read: {UnixMarshal.GetErrorDescription(errno)}",
            };
        }
        var type = stat.st_mode & FilePermissions.S_IFMT;
        if (type != FilePermissions.S_IFREG)
            return type switch
            {
                FilePermissions.S_IFIFO => "a FIFO (named pipe), not a regular file",
                FilePermissions.S_IFSOCK => "a socket, not a regular file",
                FilePermissions.S_IFCHR or FilePermissions.S_IFBLK => "a device, not a regular file",
                FilePermissions.S_IFDIR => "a folder where an image file was expected",
                _ => "not a regular file",
            };
        if (stat.st_size > maxBytes) return $"{stat.st_size:N0} bytes, more than the {maxBytes:N0} an image file may have";
        return null;
    }
}
