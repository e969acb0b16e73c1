namespace BatchNorm;

/// <summary>
/// The activation a layer fuses into its passes (<see cref="BatchNormBase{T}.Activation"/>): applied to the normalized
/// value (plus the residual, with <c>ForwardWithResidual</c>) before it is stored, and differentiated by the matching
/// backward, in the same number of passes over memory as plain batch norm.
/// </summary>
public enum BatchNormActivation
{
    /// <summary>No activation: <c>y = BN(x)</c> (plus the residual).</summary>
    None,

    /// <summary>
    /// <c>y = max(BN(x) (+ residual), 0)</c>, as PyTorch's <c>relu</c>: NaN stays NaN, and the gradient passes where the
    /// value before the activation is above 0 (or NaN), as PyTorch's <c>threshold_backward</c> does.
    /// </summary>
    Relu,
}
