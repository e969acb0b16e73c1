using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using BatchNorm.Serialization;
using Xunit;
using static BatchNorm.Tests.Serialization.SafeTensorsTestKit;

namespace BatchNorm.Tests.Serialization;

/// <summary>
/// <see cref="SafeTensors.SaveFile{T}"/> and <see cref="SafeTensorsWriter.SaveFile"/> replace a file whole or not at all:
/// the bytes of <c>Save</c>, no temporary file left behind, and after a failure half way (an exception from the writer,
/// invalid metadata, a process killed while writing a large file) the old file reads back bit for bit.
/// </summary>
public sealed class SafeTensorsSaveFileTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("batchnorm-savefile-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void SaveFile_NewFile_HoldsTheBytesOfSaveAndNothingElseIsLeft()
    {
        var layer = new BatchNorm2d<double>(5);
        Fill(layer, 11);
        string path = Path.Combine(_folder, "bn.safetensors");

        SafeTensors.SaveFile(layer, path, "layer1.0.bn1.");

        Assert.Equal(SafeTensors.Save(layer, "layer1.0.bn1."), File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFileSystemEntries(_folder));
    }

    [Fact]
    public void SaveFile_ExistingFile_IsReplacedWhole()
    {
        string path = Path.Combine(_folder, "bn.safetensors");
        File.WriteAllBytes(path, new byte[100_000]); // longer than the new file: nothing of it may remain
        var layer = new BatchNorm1d<float>(3);
        Fill(layer, 2);

        SafeTensors.SaveFile(layer, path);

        var loaded = new BatchNorm1d<float>(3);
        SafeTensors.Load(loaded, File.ReadAllBytes(path));
        Assert.Equal(Snapshot(layer), Snapshot(loaded));
        Assert.Equal(SafeTensors.Save(layer).Length, new FileInfo(path).Length);
    }

    [Fact]
    public void WriterSaveFile_SeveralLayersAndMetadata_HoldsTheBytesOfWriteTo()
    {
        var writer = new SafeTensorsWriter();
        writer.Metadata["format"] = "pt";
        writer.AddLayer(new BatchNorm2d<float>(4), "bn1.");
        writer.AddLayer(new BatchNorm2d<float>(6, affine: false), "bn2.");
        string path = Path.Combine(_folder, "model.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);

        writer.SaveFile(path);

        Assert.Equal(writer.ToArray(), File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFileSystemEntries(_folder));
    }

    [Fact]
    public void SaveFile_WriterFailsHalfWay_OldFileIntactAndNoTemporaryFile()
    {
        string path = Path.Combine(_folder, "bn.safetensors");
        byte[] old = SaveOld(path);
        byte[] next = SafeTensors.Save(new BatchNorm1d<float>(64));
        var failure = new IOException("No space left on device (injected half way)");
        long written = 0;

        IOException error = Assert.Throws<IOException>(() => AtomicFile.Write(
            path,
            stream =>
            {
                stream.Write(next, 0, next.Length / 2);
                stream.Flush();
                written = stream.Length;
                throw failure;
            },
            "path"));

        Assert.Same(failure, error);
        Assert.Equal(next.Length / 2, written); // the temporary file really held half of the new file
        Assert.Equal(old, File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFileSystemEntries(_folder));
    }

    [Fact]
    public void WriterSaveFile_InvalidMetadata_ThrowsAndLeavesTheOldFile()
    {
        string path = Path.Combine(_folder, "bn.safetensors");
        byte[] old = SaveOld(path);
        var writer = new SafeTensorsWriter();
        writer.AddLayer(new BatchNorm1d<float>(2));
        writer.Metadata["broken"] = null!;

        InvalidOperationException error = Assert.Throws<InvalidOperationException>(() => writer.SaveFile(path));

        Assert.Contains("'broken'", error.Message, StringComparison.Ordinal);
        Assert.Equal(old, File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFileSystemEntries(_folder));
    }

    [Fact]
    public void SaveFile_LazyLayer_ThrowsAndCreatesNothing()
    {
        string path = Path.Combine(_folder, "bn.safetensors");

        Assert.Throws<InvalidOperationException>(() => SafeTensors.SaveFile(BatchNorm1d<float>.CreateLazy(), path));

        Assert.Empty(Directory.GetFileSystemEntries(_folder));
    }

    [Fact]
    public void SaveFile_MissingFolder_ThrowsAndCreatesNothing()
    {
        string path = Path.Combine(_folder, "missing", "bn.safetensors");

        Assert.Throws<DirectoryNotFoundException>(() => SafeTensors.SaveFile(new BatchNorm1d<float>(2), path));

        Assert.Empty(Directory.GetFileSystemEntries(_folder));
    }

    [Fact]
    public void SaveFile_BadPaths_ThrowNamingPathAndChangeNothing()
    {
        var layer = new BatchNorm1d<float>(2);
        string folder = Directory.CreateDirectory(Path.Combine(_folder, "folder")).FullName;

        Assert.Equal("path", Assert.Throws<ArgumentNullException>(() => SafeTensors.SaveFile(layer, null!)).ParamName);
        Assert.Equal("path", Assert.Throws<ArgumentException>(() => SafeTensors.SaveFile(layer, " ")).ParamName);
        Assert.Equal("path", Assert.Throws<ArgumentException>(() => SafeTensors.SaveFile(layer, folder + "/")).ParamName);
        ArgumentException directory = Assert.Throws<ArgumentException>(() => new SafeTensorsWriter().SaveFile(folder));
        Assert.Equal("path", directory.ParamName);
        Assert.Contains("is a directory", directory.Message, StringComparison.Ordinal);
        Assert.Equal("layer", Assert.Throws<ArgumentNullException>(() => SafeTensors.SaveFile<float>(null!, Path.Combine(_folder, "x"))).ParamName);
        Assert.Equal([folder], Directory.GetFileSystemEntries(_folder));
        Assert.Empty(Directory.GetFileSystemEntries(folder));
    }

    /// <summary>
    /// A real process, killed (SIGKILL) while it writes a 256 MB checkpoint over the old one: as soon as its temporary
    /// file holds a megabyte, long before the write, the flush and the rename are done.
    /// </summary>
    [Fact]
    public void SaveFile_ProcessKilledWhileWritingALargeFile_OldFileReadsBackIntact()
    {
        string path = Path.Combine(_folder, "bn.safetensors");
        byte[] old = SaveOld(path);
        string child = Path.Combine(AppContext.BaseDirectory, "BatchNorm.SaveFileChild.dll");
        string host = Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath! : "dotnet";
        var start = new ProcessStartInfo(host) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string argument in new[] { child, path, "256" })
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start)!;
        string? temporary = null;
        var clock = Stopwatch.StartNew();
        while (temporary is null && !process.HasExited && clock.Elapsed < TimeSpan.FromSeconds(120))
        {
            temporary = Directory.GetFiles(_folder, "*.tmp").FirstOrDefault(file => new FileInfo(file).Length >= 1 << 20);
            Thread.Sleep(1);
        }

        process.Kill(entireProcessTree: true);
        process.WaitForExit();
        string output = process.StandardOutput.ReadToEnd();

        Assert.True(temporary is not null, $"The child never wrote a megabyte of its temporary file (exit {process.ExitCode}, output: {output}).");
        Assert.Contains("writing", output, StringComparison.Ordinal);
        Assert.DoesNotContain("saved", output, StringComparison.Ordinal);
        Assert.Equal(old, File.ReadAllBytes(path));
        var loaded = new BatchNorm1d<float>(3);
        SafeTensors.Load(loaded, File.ReadAllBytes(path), "bn.");
        Assert.Equal(9f, loaded.Weight[0]);
        Assert.Equal(2, Directory.GetFiles(_folder).Length); // the old file and the dead process's temporary file
    }

    /// <summary>Saves a 3-channel layer (weight 9) under <c>bn.</c> to <paramref name="path"/> and returns the file's bytes.</summary>
    private static byte[] SaveOld(string path)
    {
        var layer = new BatchNorm1d<float>(3);
        layer.Weight.Fill(9);
        layer.NumBatchesTracked = 4;
        SafeTensors.SaveFile(layer, path, "bn.");
        return File.ReadAllBytes(path);
    }
}
