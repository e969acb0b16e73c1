using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using DistributedTraining;
using TrainingLoop;
using Xunit;

namespace BatchNorm.Tests.Documentation;

/// <summary>
/// Whole sample runs take a few seconds alone but many times that among the parallel tests on two cores, so they run
/// after them, one at a time (xunit runs collections with parallelization disabled last).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SampleRunCollection
{
    public const string Name = "Whole sample runs (not parallel)";
}

/// <summary>
/// The README's figures about the samples are what the samples print: each test runs the sample as the README
/// describes it and looks for the printed figures in the README's paragraph.
/// </summary>
[Collection(SampleRunCollection.Name)]
public sealed partial class ReadmeFigureTests
{
    [Fact]
    public void TrainingLoopSection_QuotesTheDefaultRun()
    {
        string section = Section("## Sample: a training loop");
        var defaults = new TrainingOptions();

        TrainingResult with = Trainer.Run(defaults with { UseBatchNorm = true });
        TrainingResult without = Trainer.Run(defaults with { UseBatchNorm = false });

        AssertQuotes(section, $"`Eval()` of {P1(with.TestAccuracy)} with batch norm ({P1(with.Epochs[^1].Accuracy)}");
        AssertQuotes(section, $"of {P1(without.TestAccuracy)} without it ({P1(without.Epochs[^1].Accuracy)})");
        EpochResult lowest = without.Epochs.MinBy(e => e.Loss)!;
        AssertQuotes(section, Invariant($"falls to {lowest.Loss:F2} at epoch {lowest.Epoch}, then climbs back to {without.Epochs[^1].Loss:F2} by the last epoch"));
    }

    [Fact]
    public void SynchronizedSection_QuotesTheTwoThreadRun()
    {
        string section = Section("## Synchronized batch norm");
        using var output = new StringWriter();

        Assert.Equal(0, DistributedCommand.Run(["--threads", "2"], output, TextWriter.Null));

        string printed = output.ToString();
        Match variance = RunningVariance().Match(printed);
        Match expected = ExactStatistics().Match(printed);
        Match noise = AveragedNoise().Match(printed);
        Match left = StartLeft().Match(printed);
        Assert.True(variance.Success && expected.Success && noise.Success && left.Success, $"The sample's report changed:\n{printed}");
        AssertQuotes(
            section,
            $"running variance\n{variance.Groups[1].Value} where exact batch statistics would give {expected.Groups[1].Value} and the true variance is {variance.Groups[2].Value}");
        AssertQuotes(section, $"`0.9^30` = {left.Groups[1].Value} of the start");
        AssertQuotes(section, $"about ±{noise.Groups[1].Value} in the running variance");
    }

    [GeneratedRegex(@"running variance\[7\] ([0-9.]+) \(true ([0-9.]+)\)")]
    private static partial Regex RunningVariance();

    [GeneratedRegex(@"would give [0-9.]+ and ([0-9.]+)")]
    private static partial Regex ExactStatistics();

    [GeneratedRegex(@"about ±([0-9.]+) in the running average")]
    private static partial Regex AveragedNoise();

    [GeneratedRegex(@"after 30 steps\s+([0-9.]+ %) of the start")]
    private static partial Regex StartLeft();

    /// <summary>Compares with the README's line breaks taken as spaces.</summary>
    private static void AssertQuotes(string section, string expected)
    {
        string text = Flatten(section);
        Assert.True(text.Contains(Flatten(expected), StringComparison.Ordinal), $"The README should say \"{Flatten(expected)}\" (what the sample prints), but its section reads:\n{section}");
    }

    private static string Flatten(string text) => string.Join(' ', text.Split([' ', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries));

    private static string P1(double value) => value.ToString("P1", CultureInfo.InvariantCulture);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>README.md from the heading that starts with <paramref name="heading"/> to the next second-level heading.</summary>
    private static string Section(string heading)
    {
        string readme = File.ReadAllText(Path.Combine(MarkdownCodeBlocks.Root, "README.md")).Replace("\r\n", "\n", StringComparison.Ordinal);
        int start = readme.IndexOf("\n" + heading, StringComparison.Ordinal);
        Assert.True(start >= 0, $"README.md has no heading \"{heading}\".");
        int end = readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        return end < 0 ? readme[start..] : readme[start..end];
    }
}
