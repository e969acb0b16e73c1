using System;

namespace BatchNorm.Kernels;

/// <summary>Which <see cref="Epilogue{T, TMode}"/> a normalize pass applies (the modes, as a value to dispatch on).</summary>
internal enum EpilogueKind
{
    Plain,
    Relu,
    Add,
    AddRelu,
    ReluGradient,
    AddReluGradient,
}

/// <summary>The epilogue of a normalize pass and its tensors (null where unused), at the data's first element.</summary>
internal readonly unsafe struct FusedTail<TData>(EpilogueKind kind, TData* residual, TData* gradOutput)
    where TData : unmanaged
{
    public EpilogueKind Kind => kind;

    public TData* Residual => residual;

    public TData* GradOutput => gradOutput;

    /// <summary>The kind for an activation, whether a residual is added, and whether it is the backward's mask.</summary>
    public static EpilogueKind KindOf(BatchNormActivation activation, bool residual, bool gradient) =>
        (activation, residual, gradient) switch
        {
            (BatchNormActivation.Relu, false, false) => EpilogueKind.Relu,
            (BatchNormActivation.Relu, true, false) => EpilogueKind.AddRelu,
            (BatchNormActivation.Relu, false, true) => EpilogueKind.ReluGradient,
            (BatchNormActivation.Relu, true, true) => EpilogueKind.AddReluGradient,
            (_, true, false) => EpilogueKind.Add,
            _ => EpilogueKind.Plain,
        };
}

/// <summary>
/// A layer's fused activation for the internal forward and backward entry points: the activation, a residual added
/// before it (empty: none) and the per-channel flags the forward writes and its backward reads (see
/// <see cref="ForwardRequest{T, TData}.ExactFlags"/>); for the backward also the forward's bias and where the masked
/// gradient goes (see <see cref="BackwardRequest{T, TData}.Activation"/>).
/// </summary>
internal ref struct ActivationTail<T, TData>
    where T : unmanaged
    where TData : unmanaged
{
    public BatchNormActivation Activation;
    public ReadOnlySpan<TData> Residual;
    public Span<bool> ExactFlags;
    public ReadOnlySpan<T> Bias;
    public Span<TData> MaskedGradient;
}
