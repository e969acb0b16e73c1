using System;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Numerics;
using System.Text;

using BatchNorm.Samples;

namespace TrainingLoop;

/// <summary>
/// The sample's command line (System.CommandLine): <c>--help</c> prints the usage and trains nothing; a bad value is
/// one line on the error writer naming the option, and exit code 2; otherwise both runs and the comparison.
/// </summary>
public static class TrainingCommand
{
    /// <summary>The exit code of a command line that does not parse or whose values are out of range.</summary>
    public const int UsageError = 2;

    /// <summary>Parses <paramref name="args"/> and runs the sample; returns the process exit code.</summary>
    /// <param name="args">The command-line arguments.</param>
    /// <param name="output">Where the usage, the progress and the results go.</param>
    /// <param name="error">Where a bad command line is reported.</param>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var defaults = new TrainingOptions();
        Option<int> epochs = Number("--epochs", "N", "Training epochs of each run", defaults.Epochs, v => v >= 1, "at least 1");
        Option<float> learningRate = Number("--lr", "X", "SGD learning rate, above 0", defaults.LearningRate, v => float.IsFinite(v) && v > 0, "a finite number above 0");
        Option<float> momentum = Number("--momentum", "X", "SGD momentum, in [0, 1)", defaults.Momentum, v => v >= 0 && v < 1, "in [0, 1)");
        Option<int> layers = Number("--layers", "N", "Hidden layers (Linear, BatchNorm1d, ReLU)", defaults.HiddenLayers, v => v >= 1, "at least 1");
        Option<double> noise = Number(
            "--noise", "X", "Standard deviation of the spirals' angle noise, in radians", defaults.Noise, v => double.IsFinite(v) && v >= 0, "a finite number, 0 or more");
        Option<string> csv = new("--csv")
        {
            Description = "Where to write the per-epoch losses and accuracies",
            HelpName = "PATH",
            DefaultValueFactory = _ => "training-loss.csv",
        };

        RootCommand command = new(
            "Trains the same MLP (2 inputs, ReLU hidden layers, 3 classes) on three interleaved spirals twice, with and " +
            "without BatchNorm1d after each hidden Linear, with the same data, initial weights, batch order and learning " +
            "rate, and compares the loss curves and the test accuracy in Eval() mode.")
        {
            epochs, learningRate, momentum, layers, noise, csv,
        };
        command.SetAction(result =>
        {
            TrainingOptions options = defaults with
            {
                Epochs = result.GetValue(epochs),
                LearningRate = result.GetValue(learningRate),
                Momentum = result.GetValue(momentum),
                HiddenLayers = result.GetValue(layers),
                Noise = result.GetValue(noise),
            };
            Compare(options, result.GetValue(csv)!, output);
            return 0;
        });

        ParseResult parsed = command.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            error.WriteLine($"TrainingLoop: {string.Join(" ", parsed.Errors.Select(e => e.Message))} (--help for usage)");
            return UsageError;
        }

        return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
    }

    /// <summary>
    /// A numeric option parsed with the invariant culture; a value that is no number, or out of range, is a parse error
    /// naming the option and the value.
    /// </summary>
    internal static Option<T> Number<T>(string name, string helpName, string description, T defaultValue, Func<T, bool> isValid, string expected)
        where T : INumber<T>
    {
        return new Option<T>(name)
        {
            Description = description,
            HelpName = helpName,
            DefaultValueFactory = _ => defaultValue,
            CustomParser = result => NumberOption.Parse(result, name, isValid, expected, defaultValue),
        };
    }

    /// <summary>Both runs, the comparison and the CSV file.</summary>
    private static void Compare(TrainingOptions options, string csvPath, TextWriter output)
    {
        int epochs = options.Epochs;
        output.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"{options.Classes} interleaved spirals, {options.TrainPerClass * options.Classes} training / {options.TestPerClass * options.Classes} test points; " +
            $"MLP 2-{options.Hidden}x{options.HiddenLayers}-{options.Classes} with ReLU; SGD lr {options.LearningRate}, momentum {options.Momentum}, batch {options.BatchSize}"));

        TrainingResult withNorm = RunAndReport("with BatchNorm1d", options with { UseBatchNorm = true }, output);
        TrainingResult without = RunAndReport("without batch norm", options with { UseBatchNorm = false }, output);

        output.WriteLine();
        output.WriteLine("== summary: same data, initial weights, batch order and learning rate; only the BatchNorm1d layers differ ==");
        output.WriteLine("loss at epoch   with BatchNorm1d   without");
        foreach (int epoch in new[] { 1, 2, 5, 10, 20, 30, 50, 100 })
        {
            if (epoch <= epochs)
            {
                output.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"{epoch,13}   {withNorm.Epochs[epoch - 1].Loss,16:F4}   {without.Epochs[epoch - 1].Loss,7:F4}"));
            }
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"last epoch accuracy:  {withNorm.Epochs[^1].Accuracy,19:P1}   {without.Epochs[^1].Accuracy,7:P1}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test accuracy (Eval()):  {withNorm.TestAccuracy,17:P1}   {without.TestAccuracy,7:P1}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test loss:  {withNorm.TestLoss,29:F4}   {without.TestLoss,7:F4}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"training time:  {withNorm.Elapsed.TotalSeconds,23:F1} s   {without.Elapsed.TotalSeconds,5:F1} s"));

        var csv = new StringBuilder("epoch,loss_batchnorm,loss_plain,accuracy_batchnorm,accuracy_plain\n");
        for (int e = 0; e < epochs; e++)
        {
            csv.Append(CultureInfo.InvariantCulture, $"{e + 1},{withNorm.Epochs[e].Loss:R},{without.Epochs[e].Loss:R},{withNorm.Epochs[e].Accuracy:R},{without.Epochs[e].Accuracy:R}\n");
        }

        File.WriteAllText(csvPath, csv.ToString());
        output.WriteLine($"per-epoch losses written to {Path.GetFullPath(csvPath)}");
    }

    private static TrainingResult RunAndReport(string title, TrainingOptions options, TextWriter output)
    {
        output.WriteLine();
        output.WriteLine($"== {title} ==");
        TrainingResult result = Trainer.Run(options, e => output.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"epoch {e.Epoch,3}/{options.Epochs}  loss {e.Loss:F4}  accuracy {e.Accuracy,6:P1}  elapsed {e.Elapsed.TotalSeconds:F2} s")));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Eval(): test accuracy {result.TestAccuracy:P1}, test loss {result.TestLoss:F4}"));
        return result;
    }
}
