using System;
using System.Diagnostics;
using System.IO;
using DistributedTraining;
using Experiments;
using TrainingLoop;
using Xunit;

namespace BatchNorm.Tests.Samples;

/// <summary>
/// The samples behave like command-line tools: <c>--help</c> prints the usage and trains nothing (exit code 0); a bad
/// value is one line on standard error naming the option, no stack trace, exit code 2.
/// </summary>
public sealed class SampleCommandLineTests
{
    [Fact]
    public void TrainingLoop_Help_PrintsUsageAndTrainsNothing()
    {
        (int exitCode, string output, string error) = Run(TrainingCommand.Run, "--help");

        Assert.Equal(0, exitCode);
        Assert.Contains("Usage:", output, StringComparison.Ordinal);
        foreach (string option in new[] { "--epochs", "--lr", "--momentum", "--layers", "--noise", "--csv" })
        {
            Assert.Contains(option, output, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("epoch   1/", output, StringComparison.Ordinal);
        Assert.Equal(string.Empty, error);
    }

    [Theory]
    [InlineData("--lr abc", "'--lr'", "abc")]
    [InlineData("--lr -0.5", "'--lr'", "-0.5")]
    [InlineData("--epochs 0", "'--epochs'", "0")]
    [InlineData("--epochs 2.5", "'--epochs'", "2.5")]
    [InlineData("--momentum 1", "'--momentum'", "1")]
    [InlineData("--layers x", "'--layers'", "x")]
    [InlineData("--noise -1", "'--noise'", "-1")]
    [InlineData("--lr", "'--lr'", "--lr")]
    [InlineData("--bogus 3", "'--bogus'", "--help")]
    public void TrainingLoop_BadValue_OneLineNamingOption_ExitCode2(string arguments, string option, string fragment)
    {
        (int exitCode, string output, string error) = Run(TrainingCommand.Run, arguments.Split(' '));

        AssertUsageError(exitCode, output, error, "TrainingLoop", option, fragment);
    }

    [Fact]
    public void DistributedTraining_Help_PrintsUsageAndTrainsNothing()
    {
        (int exitCode, string output, string error) = Run(DistributedCommand.Run, "--help");

        Assert.Equal(0, exitCode);
        Assert.Contains("Usage:", output, StringComparison.Ordinal);
        foreach (string option in new[] { "--threads", "--steps", "--lr" })
        {
            Assert.Contains(option, output, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("step ", output, StringComparison.Ordinal);
        Assert.Equal(string.Empty, error);
    }

    [Theory]
    [InlineData("--threads abc", "'--threads'", "abc")]
    [InlineData("--threads 0", "'--threads'", "0")]
    [InlineData("--steps -3", "'--steps'", "-3")]
    [InlineData("--lr abc", "'--lr'", "abc")]
    public void DistributedTraining_BadValue_OneLineNamingOption_ExitCode2(string arguments, string option, string fragment)
    {
        (int exitCode, string output, string error) = Run(DistributedCommand.Run, arguments.Split(' '));

        AssertUsageError(exitCode, output, error, "DistributedTraining", option, fragment);
    }

    [Fact]
    public void DistributedTraining_ShortRunOnThreads_SaysWhatItTrainsOnHowManyReplicasAndWhyTheVarianceDiffers()
    {
        (int exitCode, string output, string error) = Run(DistributedCommand.Run, "--threads", "3", "--steps", "4");

        Assert.Equal(0, exitCode);
        Assert.Equal(string.Empty, error);
        Assert.Contains("synchronized BatchNorm2d<float>(8) on 3 replica(s) (threads)", output, StringComparison.Ordinal);
        Assert.Contains("split 11 + 11 + 10", output, StringComparison.Ordinal);
        Assert.Contains("step    3/4", output, StringComparison.Ordinal);
        Assert.Contains("running variance[7]", output, StringComparison.Ordinal);
        Assert.Contains("Why they differ", output, StringComparison.Ordinal);
        Assert.Contains("65.6 % of the start is still in them", output, StringComparison.Ordinal); // 0.9^4
    }

    [Fact]
    public void Experiments_Help_ListsEveryExperimentAndOptionAndRunsNothing()
    {
        (int exitCode, string output, string error) = Run(ExperimentsCommand.Run, "--help");

        Assert.Equal(0, exitCode);
        Assert.Contains("Usage:", output, StringComparison.Ordinal);
        foreach (string name in new[] { "all", "faster-training", "smoother-loss", "gradient-explosion", "length-direction", "small-batches", "--quick", "--output" })
        {
            Assert.Contains(name, output, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("experiment(s)", output, StringComparison.Ordinal);
        Assert.Equal(string.Empty, error);
    }

    [Theory]
    [InlineData("--bogus", "'--bogus'", "--help")]
    [InlineData("no-such-experiment", "'no-such-experiment'", "--help")]
    [InlineData("small-batches --output", "'--output'", "--output")]
    public void Experiments_BadCommandLine_OneLineNamingIt_ExitCode2(string arguments, string culprit, string fragment)
    {
        (int exitCode, string output, string error) = Run(ExperimentsCommand.Run, arguments.Split(' '));

        AssertUsageError(exitCode, output, error, "Experiments", culprit, fragment);
    }

    /// <summary>The real process: the exit code and standard error as a shell sees them.</summary>
    [Fact]
    public async System.Threading.Tasks.Task TrainingLoop_Process_BadValue_ExitCode2AndOneLineOnStandardError()
    {
        string sample = Path.Combine(AppContext.BaseDirectory, "TrainingLoop.dll");
        string host = Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath! : "dotnet";
        var start = new ProcessStartInfo(host)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in new[] { sample, "--lr", "abc" })
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start)!;
        System.Threading.Tasks.Task<string> output = process.StandardOutput.ReadToEndAsync();
        string error = await process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(60_000), "The sample did not exit within a minute.");

        AssertUsageError(process.ExitCode, await output, error, "TrainingLoop", "'--lr'", "abc");
    }

    private static void AssertUsageError(int exitCode, string output, string error, string program, string option, string fragment)
    {
        Assert.Equal(2, exitCode);
        Assert.Equal(string.Empty, output);
        string line = error.TrimEnd('\r', '\n');
        Assert.DoesNotContain('\n', line);
        Assert.StartsWith(program + ": ", line, StringComparison.Ordinal);
        Assert.Contains(option, line, StringComparison.Ordinal);
        Assert.Contains(fragment, line, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal); // a stack trace's frame
    }

    private static (int ExitCode, string Output, string Error) Run(Func<string[], TextWriter, TextWriter, int> entry, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int exitCode = entry(args, output, error);
        return (exitCode, output.ToString(), error.ToString());
    }
}
