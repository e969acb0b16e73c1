namespace Experiments.SmallBatches;

/// <summary>
/// One batch size's trained network, tested three ways: in evaluation mode with the running statistics training left,
/// with the statistics of test batches of the training batch size, and with the running statistics recalibrated by
/// <c>PreciseBatchNorm.Recalibrate</c>; and how far the running statistics were from the recalibrated ones
/// (<see cref="RunningStatisticsError"/>).
/// </summary>
public sealed record BatchSizeOutcome(
    int BatchSize,
    float LearningRate,
    double RunningStatistics,
    double BatchStatistics,
    double Recalibrated,
    double TrainingBatchAccuracy,
    double RunningStatisticsError);
