using System;
using System.Collections.Generic;
using System.Linq;
using Xunit;

namespace BatchNorm.Tests.Documentation;

/// <summary>
/// Every fenced C# block (<c>```csharp</c>, <c>```cs</c>, <c>```c#</c>) of every markdown file git tracks in the
/// repository compiles, as a console program of top-level statements with nothing but its own <c>using</c> lines,
/// against the library, and runs without throwing within <see cref="Timeout"/>. One test case per block, named by
/// file and line. A block whose first line is <c>// compile-only: …</c> is compiled but not run: the MPI example,
/// which needs <c>mpiexec</c> (.ci/mpi-test runs the MPI code under it).
/// </summary>
public sealed class MarkdownCodeBlockTests
{
    /// <summary>A block is an example, quick to run; the slowest SIMD tier (intrinsics off) still takes well under this.</summary>
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static TheoryData<string, int> Blocks()
    {
        var data = new TheoryData<string, int>();
        foreach (MarkdownCodeBlock block in MarkdownCodeBlocks.All())
        {
            data.Add(block.File, block.Line);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Blocks))]
    public void CSharpBlock_CompilesAndRuns(string file, int line)
    {
        MarkdownCodeBlock block = MarkdownCodeBlocks.All().Single(b => b.File == file && b.Line == line);

        byte[]? assembly = SnippetCompiler.Compile(block.Code, file, line + 1, out IReadOnlyList<string> diagnostics);

        Assert.True(
            assembly is not null,
            $"The C# block at {file}:{line} does not compile:\n{string.Join('\n', diagnostics)}");
        if (!block.IsCompileOnly)
        {
            string? failure = SnippetCompiler.Run(assembly!, Timeout);
            Assert.True(failure is null, $"The C# block at {file}:{line} compiles but fails when run: {failure}");
        }
    }

    /// <summary>The discovery itself: the README's blocks are found (a broken search would otherwise test nothing).</summary>
    [Fact]
    public void Discovery_FindsTheReadmeBlocks_AndOnlyTheMpiOneIsCompileOnly()
    {
        MarkdownCodeBlock[] readme = MarkdownCodeBlocks.All().Where(b => b.File == "README.md").ToArray();

        Assert.True(readme.Length >= 6, $"Expected at least 6 C# blocks in README.md, found {readme.Length}.");
        MarkdownCodeBlock compileOnly = Assert.Single(MarkdownCodeBlocks.All(), b => b.IsCompileOnly);
        Assert.Contains("MpiEnvironment.Initialize()", compileOnly.Code, StringComparison.Ordinal);
        Assert.Contains("README.md", MarkdownCodeBlocks.MarkdownFiles());
        Assert.Contains("benchmarks/README.md", MarkdownCodeBlocks.MarkdownFiles());
    }

    [Fact]
    public void Extract_FindsFencesOfEveryCSharpSpelling_AndSkipsOthers()
    {
        const string markdown = "# t\n```csharp\na();\n```\n\n~~~ cs\nb();\n~~~\n  ```C#\n  c();\n  ```\n```bash\nd\n```\n````csharp\n```\ne();\n````\n";

        MarkdownCodeBlock[] blocks = MarkdownCodeBlocks.Extract("x.md", markdown).ToArray();

        Assert.Equal([2, 6, 9, 15], blocks.Select(b => b.Line));
        Assert.Equal(["a();", "b();", "c();", "```\ne();"], blocks.Select(b => b.Code));
    }

    [Fact]
    public void Compile_BrokenBlock_ReportsTheMarkdownLine()
    {
        byte[]? assembly = SnippetCompiler.Compile("int x = 1;\nint y = \"two\";", "doc.md", 41, out IReadOnlyList<string> diagnostics);

        Assert.Null(assembly);
        Assert.Contains(diagnostics, d => d.StartsWith("doc.md(42,", StringComparison.Ordinal) && d.Contains("CS0029", StringComparison.Ordinal));
    }

    [Fact]
    public void Run_ThrowingBlock_ReportsTheException()
    {
        byte[]? assembly = SnippetCompiler.Compile("throw new System.InvalidOperationException(\"boom\");", "doc.md", 1, out _);

        string? failure = SnippetCompiler.Run(assembly!, Timeout);

        Assert.NotNull(failure);
        Assert.Contains("boom", failure, StringComparison.Ordinal);
    }
}
