using System;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text.RegularExpressions;
using Xunit;

namespace BatchNorm.Tests.Documentation;

/// <summary>
/// The README's table of bad inputs and faults names real tests: every test file it names exists under
/// <c>tests/BatchNorm.Tests/</c>, every test method it names is a test of this assembly in that file, and every script
/// it names exists in <c>.ci/</c>.
/// </summary>
public sealed partial class ReliabilityTableTests
{
    [Fact]
    public void ReliabilityTable_NamesTestsThatExist()
    {
        string readme = File.ReadAllText(Path.Combine(MarkdownCodeBlocks.Root, "README.md")).Replace("\r\n", "\n", StringComparison.Ordinal);
        int start = readme.IndexOf("| bad input or fault |", StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has no reliability table.");
        string[] rows = readme[start..].Split('\n').TakeWhile(line => line.StartsWith('|')).Skip(2).ToArray();
        Assert.True(rows.Length >= 7, $"The table has {rows.Length} rows; it lists at least the seven classes of issue 14.");

        MethodInfo[] tests = typeof(ReliabilityTableTests).Assembly.GetTypes()
            .SelectMany(type => type.GetMethods())
            .Where(method => method.GetCustomAttributes<FactAttribute>().Any())
            .ToArray();
        int named = 0;
        foreach (string row in rows)
        {
            string shownBy = row.Split('|', StringSplitOptions.TrimEntries)[^2];
            foreach (Match file in TestFile().Matches(shownBy))
            {
                string path = Path.Combine(MarkdownCodeBlocks.Root, "tests", "BatchNorm.Tests", file.Groups[1].Value);
                Assert.True(File.Exists(path), $"The table names {file.Groups[1].Value}, which does not exist.");
                string source = File.ReadAllText(path);
                string rest = shownBy[(file.Index + file.Length)..];
                int next = TestFile().Match(rest) is { Success: true } following ? following.Index : rest.Length;
                foreach (Match method in TestMethod().Matches(rest[..next]))
                {
                    named++;
                    string name = method.Groups[1].Value;
                    Assert.True(tests.Any(test => test.Name == name), $"The table names the test {name}, which is not a test of this assembly.");
                    Assert.Contains(" " + name + "(", source, StringComparison.Ordinal);
                }
            }

            foreach (Match script in Script().Matches(shownBy))
            {
                Assert.True(File.Exists(Path.Combine(MarkdownCodeBlocks.Root, ".ci", script.Groups[1].Value)), $"The table names .ci/{script.Groups[1].Value}, which does not exist.");
            }
        }

        Assert.True(named >= 15, $"The table names {named} test methods.");
    }

    [GeneratedRegex(@"`([A-Za-z]+/[A-Za-z]+\.cs)`")]
    private static partial Regex TestFile();

    [GeneratedRegex(@"`([A-Z][A-Za-z0-9]*_[A-Za-z0-9_]+)`")]
    private static partial Regex TestMethod();

    [GeneratedRegex(@"`\.ci/([a-z-]+)")]
    private static partial Regex Script();
}
