using System;
using System.Globalization;
using System.IO;
using System.Text;
using TrainingLoop;

// Trains the same MLP on the same spirals twice, with and without BatchNorm1d, and compares the loss curves.
// Usage: dotnet run -c Release --project samples/TrainingLoop -- [--epochs N] [--csv PATH]
var options = new TrainingOptions();
string csvPath = "training-loss.csv";
for (int i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--epochs":
            options = options with { Epochs = int.Parse(args[i + 1], CultureInfo.InvariantCulture) };
            break;
        case "--layers":
            options = options with { HiddenLayers = int.Parse(args[i + 1], CultureInfo.InvariantCulture) };
            break;
        case "--lr":
            options = options with { LearningRate = float.Parse(args[i + 1], CultureInfo.InvariantCulture) };
            break;
        case "--momentum":
            options = options with { Momentum = float.Parse(args[i + 1], CultureInfo.InvariantCulture) };
            break;
        case "--noise":
            options = options with { Noise = double.Parse(args[i + 1], CultureInfo.InvariantCulture) };
            break;
        case "--csv":
            csvPath = args[i + 1];
            break;
        default:
            Console.Error.WriteLine($"Unknown option {args[i]}; expected --epochs N, --layers N, --lr X, --momentum X, --noise X or --csv PATH.");
            return 2;
    }
}

int epochs = options.Epochs;
Console.WriteLine(string.Create(
    CultureInfo.InvariantCulture,
    $"{options.Classes} interleaved spirals, {options.TrainPerClass * options.Classes} training / {options.TestPerClass * options.Classes} test points; " +
    $"MLP 2-{options.Hidden}x{options.HiddenLayers}-{options.Classes} with ReLU; SGD lr {options.LearningRate}, momentum {options.Momentum}, batch {options.BatchSize}"));

TrainingResult withNorm = RunAndReport("with BatchNorm1d", options with { UseBatchNorm = true });
TrainingResult without = RunAndReport("without batch norm", options with { UseBatchNorm = false });

Console.WriteLine();
Console.WriteLine("== summary: same data, initial weights, batch order and learning rate; only the BatchNorm1d layers differ ==");
Console.WriteLine("loss at epoch   with BatchNorm1d   without");
foreach (int epoch in new[] { 1, 2, 5, 10, 20, 30, 50, 100 })
{
    if (epoch <= epochs)
    {
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"{epoch,13}   {withNorm.Epochs[epoch - 1].Loss,16:F4}   {without.Epochs[epoch - 1].Loss,7:F4}"));
    }
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"last epoch accuracy:  {withNorm.Epochs[^1].Accuracy,19:P1}   {without.Epochs[^1].Accuracy,7:P1}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test accuracy (Eval()):  {withNorm.TestAccuracy,17:P1}   {without.TestAccuracy,7:P1}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test loss:  {withNorm.TestLoss,29:F4}   {without.TestLoss,7:F4}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"training time:  {withNorm.Elapsed.TotalSeconds,23:F1} s   {without.Elapsed.TotalSeconds,5:F1} s"));

var csv = new StringBuilder("epoch,loss_batchnorm,loss_plain,accuracy_batchnorm,accuracy_plain\n");
for (int e = 0; e < epochs; e++)
{
    csv.Append(CultureInfo.InvariantCulture, $"{e + 1},{withNorm.Epochs[e].Loss:R},{without.Epochs[e].Loss:R},{withNorm.Epochs[e].Accuracy:R},{without.Epochs[e].Accuracy:R}\n");
}

File.WriteAllText(csvPath, csv.ToString());
Console.WriteLine($"per-epoch losses written to {Path.GetFullPath(csvPath)}");
return 0;

static TrainingResult RunAndReport(string title, TrainingOptions options)
{
    Console.WriteLine();
    Console.WriteLine($"== {title} ==");
    TrainingResult result = Trainer.Run(options, e => Console.WriteLine(string.Create(
        CultureInfo.InvariantCulture,
        $"epoch {e.Epoch,3}/{options.Epochs}  loss {e.Loss:F4}  accuracy {e.Accuracy,6:P1}  elapsed {e.Elapsed.TotalSeconds:F2} s")));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Eval(): test accuracy {result.TestAccuracy:P1}, test loss {result.TestLoss:F4}"));
    return result;
}
