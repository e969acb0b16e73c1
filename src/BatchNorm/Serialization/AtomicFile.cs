using System;
using System.IO;

namespace BatchNorm.Serialization;

/// <summary>
/// Replaces a file all at once: the new bytes go to a temporary file in the same folder, are flushed to disk, and the
/// temporary file is then renamed over the target. A reader of the target sees the old file or the new one, never a
/// part; a failure leaves the old file as it was and, while the process lives, no temporary file behind.
/// </summary>
internal static class AtomicFile
{
    /// <summary>Writes the file <paramref name="path"/> through <paramref name="write"/>, atomically.</summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="write">Writes the whole file to the stream it is given (a new file in the target's folder).</param>
    /// <param name="paramName">The caller's name for <paramref name="path"/>, for the argument checks.</param>
    public static void Write(string path, Action<Stream> write, string paramName)
    {
        ArgumentNullException.ThrowIfNull(path, paramName);
        if (string.IsNullOrWhiteSpace(path) || path.EndsWith(Path.DirectorySeparatorChar) || path.EndsWith(Path.AltDirectorySeparatorChar))
        {
            ThrowHelper.ThrowArgument(paramName, $"Expected the path of a file, but got '{path}'.");
        }

        string target = Path.GetFullPath(path);
        if (Directory.Exists(target))
        {
            ThrowHelper.ThrowArgument(paramName, $"Expected the path of a file, but '{target}' is a directory.");
        }

        // Same folder, so the rename stays on one file system and is atomic; a random name, so concurrent saves of one
        // path do not share a temporary file (the last rename wins, and each is a whole file).
        string temporary = Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, target, overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    private static void TryDelete(string temporary)
    {
        try
        {
            File.Delete(temporary);
        }
        catch (IOException)
        {
            // The original exception is the one to report; a temporary file we cannot delete is left as it is.
        }
        catch (UnauthorizedAccessException)
        {
            // As above.
        }
    }
}
