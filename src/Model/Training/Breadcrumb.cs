using System.Text;
using Microsoft.Win32.SafeHandles;

namespace BitActors.Model.Training;

/// <summary>
/// What the process is doing now, in a small file that outlives it: .NET cannot catch SIGFPE or SIGSEGV raised
/// in native code (libtorch, oneDNN), so the launcher (./bitactors) reads this file when the process dies on a
/// signal and says what it was doing. Each <see cref="Mark"/> is one positioned write of a fixed-size record
/// (a few microseconds; a training step marks its forward, backward, update and end: four writes). Off until
/// <see cref="Open"/>; a normal exit clears the record, so only a death leaves one behind.
/// </summary>
public static class Breadcrumb
{
    /// <summary>Bytes in the record: the UTF-8 text, then zeros.</summary>
    public const int RecordSize = 256;

    private static readonly object Gate = new();
    private static readonly byte[] Record = new byte[RecordSize];
    private static SafeFileHandle? file;
    private static bool clearsOnExit;

    /// <summary>True once <see cref="Open"/> has named a file: callers skip formatting their text otherwise.</summary>
    public static bool Enabled => file is not null;

    /// <summary>
    /// Records to <paramref name="path"/> from now on (instead of any file named before), starting with
    /// <paramref name="what"/>; a normal exit clears the record.
    /// </summary>
    public static void Open(string path, string what)
    {
        var opened = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite);
        lock (Gate)
        {
            if (!clearsOnExit) AppDomain.CurrentDomain.ProcessExit += (_, _) => Mark("");
            clearsOnExit = true;
            file?.Dispose();
            file = opened;
        }
        Mark(what);
    }

    /// <summary>Stops recording (the record stays as it is).</summary>
    public static void Close()
    {
        lock (Gate)
        {
            file?.Dispose();
            file = null;
        }
    }

    /// <summary>Replaces the record with <paramref name="what"/> (one line; cut to the record size).</summary>
    public static void Mark(string what)
    {
        if (file is null) return;
        lock (Gate)
        {
            if (file is null) return;
            Array.Clear(Record);
            // Cut on a whole character: at most RecordSize - 1 bytes, so the record always ends in a zero.
            var text = what.Replace('\n', ' ').AsSpan();
            while (Encoding.UTF8.GetByteCount(text) >= RecordSize) text = text[..(text.Length * 3 / 4)];
            Encoding.UTF8.GetBytes(text, Record);
            try { RandomAccess.Write(file, Record, 0); }
            catch (IOException) { } // a full disk must not stop training: the record is only a diagnosis
        }
    }

    /// <summary>The text of a record file (empty when cleared), as the launcher reads it.</summary>
    public static string Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        int end = Array.IndexOf(bytes, (byte)0);
        return Encoding.UTF8.GetString(bytes, 0, end < 0 ? bytes.Length : end);
    }
}
