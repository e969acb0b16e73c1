using System;
using TrainingLoop;

// Trains the same MLP on the same spirals twice, with and without BatchNorm1d, and compares the loss curves.
// Usage: dotnet run -c Release --project samples/TrainingLoop -- --help
return TrainingCommand.Run(args, Console.Out, Console.Error);
