using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;

namespace BatchNorm.Tests.Documentation;

/// <summary>One fenced C# block of a markdown file: where it is, and its code.</summary>
/// <param name="File">The markdown file, relative to the repository root, with '/' separators.</param>
/// <param name="Line">The 1-based line of the opening fence.</param>
/// <param name="Code">The lines between the fences, joined with '\n'.</param>
public sealed record MarkdownCodeBlock(string File, int Line, string Code)
{
    /// <summary>
    /// The first line that marks a block which is compiled but not run, because running it needs more than a test
    /// process has (an MPI launcher): <c>// compile-only: needs mpiexec</c>.
    /// </summary>
    public const string CompileOnlyMarker = "// compile-only:";

    /// <summary>Whether the block's first line is <see cref="CompileOnlyMarker"/>.</summary>
    public bool IsCompileOnly => Code.TrimStart().StartsWith(CompileOnlyMarker, StringComparison.Ordinal);
}

/// <summary>Finds the repository's markdown files and the C# blocks in them.</summary>
public static class MarkdownCodeBlocks
{
    /// <summary>Info strings that mark a fenced block as C# (the first word after the fence, case-insensitive).</summary>
    private static readonly string[] s_csharpInfo = ["csharp", "cs", "c#"];

    private static readonly Lazy<string> s_root = new(FindRoot);

    /// <summary>The repository root: the nearest folder above the test assembly that holds BatchNorm.sln.</summary>
    public static string Root => s_root.Value;

    /// <summary>Every C# block of every markdown file in the repository, in file then line order.</summary>
    public static IEnumerable<MarkdownCodeBlock> All() =>
        MarkdownFiles().SelectMany(file => Extract(file, File.ReadAllText(Path.Combine(Root, file))));

    /// <summary>
    /// The markdown files git tracks under the root (relative, '/' separators, sorted); when git is not available, every
    /// <c>*.md</c> under the root outside hidden, <c>bin</c>, <c>obj</c> and <c>TestResults</c> folders.
    /// </summary>
    public static IReadOnlyList<string> MarkdownFiles()
    {
        List<string>? tracked = GitTrackedMarkdown();
        if (tracked is not null)
        {
            return tracked;
        }

        string[] skipped = ["bin", "obj", "TestResults", "BenchmarkDotNet.Artifacts"];
        return Directory.EnumerateFiles(Root, "*.md", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(Root, path).Replace('\\', '/'))
            .Where(path => !path.Split('/').SkipLast(1).Any(part => part.StartsWith('.') || skipped.Contains(part)))
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>
    /// The fenced C# blocks of one markdown text: an opening fence of three or more backticks or tildes (indented at most
    /// three spaces) whose info string's first word is <c>csharp</c>, <c>cs</c> or <c>c#</c>, up to the closing fence of
    /// the same character and at least the same length (CommonMark); an unclosed block runs to the end of the file.
    /// </summary>
    public static IEnumerable<MarkdownCodeBlock> Extract(string file, string markdown)
    {
        string[] lines = markdown.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            if (!IsFence(lines[i], out char fence, out int length, out int indent, out string info))
            {
                continue;
            }

            int start = i;
            var code = new List<string>();
            for (i++; i < lines.Length; i++)
            {
                if (IsFence(lines[i], out char closing, out int closingLength, out _, out string closingInfo)
                    && closing == fence && closingLength >= length && closingInfo.Length == 0)
                {
                    break;
                }

                // CommonMark: remove up to the opening fence's indentation from each line of the block.
                string line = lines[i];
                int strip = 0;
                while (strip < indent && strip < line.Length && line[strip] == ' ')
                {
                    strip++;
                }

                code.Add(line[strip..]);
            }

            string language = info.Split(' ', '\t', '{')[0];
            if (s_csharpInfo.Contains(language, StringComparer.OrdinalIgnoreCase))
            {
                yield return new MarkdownCodeBlock(file, start + 1, string.Join('\n', code));
            }
        }
    }

    private static bool IsFence(string line, out char fence, out int length, out int indent, out string info)
    {
        fence = default;
        length = 0;
        info = string.Empty;
        indent = 0;
        while (indent < line.Length && line[indent] == ' ')
        {
            indent++;
        }

        if (indent > 3 || indent >= line.Length || (line[indent] != '`' && line[indent] != '~'))
        {
            return false;
        }

        fence = line[indent];
        int end = indent;
        while (end < line.Length && line[end] == fence)
        {
            end++;
        }

        length = end - indent;
        info = line[end..].Trim();
        return length >= 3 && !(fence == '`' && info.Contains('`', StringComparison.Ordinal));
    }

    private static List<string>? GitTrackedMarkdown()
    {
        try
        {
            var start = new ProcessStartInfo("git")
            {
                WorkingDirectory = Root,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (string argument in new[] { "ls-files", "-z", "--", "*.md" })
            {
                start.ArgumentList.Add(argument);
            }

            using Process git = Process.Start(start)!;
            string output = git.StandardOutput.ReadToEnd();
            git.StandardError.ReadToEnd();
            git.WaitForExit();
            return git.ExitCode == 0
                ? output.Split('\0', StringSplitOptions.RemoveEmptyEntries).Where(f => File.Exists(Path.Combine(Root, f))).Order(StringComparer.Ordinal).ToList()
                : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // no git on this machine
        }
    }

    private static string FindRoot()
    {
        for (DirectoryInfo? directory = new(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "BatchNorm.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No folder above {AppContext.BaseDirectory} holds BatchNorm.sln.");
    }
}
