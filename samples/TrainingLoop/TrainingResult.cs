using System;
using System.Collections.Generic;

namespace TrainingLoop;

/// <summary>One epoch: the mean training loss and the accuracy over the epoch's batches (training mode), and the time so far.</summary>
public sealed record EpochResult(int Epoch, double Loss, double Accuracy, TimeSpan Elapsed);

/// <summary>A whole run: the epochs, then the test set's loss and accuracy in evaluation mode.</summary>
public sealed record TrainingResult(IReadOnlyList<EpochResult> Epochs, double TestLoss, double TestAccuracy, TimeSpan Elapsed);
