namespace BatchNorm.Benchmarks;

/// <summary>A layer call the first-calls mode measures.</summary>
public enum LayerOperation
{
    /// <summary><c>Forward</c> in training mode: batch statistics, normalization, running-statistics update.</summary>
    TrainingForward,

    /// <summary><c>Forward</c> in evaluation mode, with the running statistics.</summary>
    EvalForward,

    /// <summary><c>Backward</c> after a training <c>Forward</c> on the same input.</summary>
    Backward,
}
