using System;

namespace BatchNorm.Samples.Network;

/// <summary>
/// The trainable layers of an MLP — its Linear layers and the BatchNorm1d after each hidden one (none without batch
/// norm) — with a momentum buffer for each BatchNorm parameter: mode switches, zeroing and the SGD step for all of them.
/// </summary>
public sealed class LayerParameters
{
    private readonly Linear[] _linears;
    private readonly BatchNorm1d<float>[] _norms;
    private readonly float[][] _weightVelocity;
    private readonly float[][] _biasVelocity;

    public LayerParameters(Linear[] linears, BatchNorm1d<float>[] norms)
    {
        (_linears, _norms) = (linears, norms);
        _weightVelocity = Array.ConvertAll(norms, norm => new float[norm.NumFeatures]);
        _biasVelocity = Array.ConvertAll(norms, norm => new float[norm.NumFeatures]);
    }

    /// <summary>Training mode: the BatchNorm layers use batch statistics and update their running statistics.</summary>
    public void Train()
    {
        foreach (BatchNorm1d<float> norm in _norms)
        {
            norm.Train();
        }
    }

    /// <summary>Evaluation mode: the BatchNorm layers use their running statistics.</summary>
    public void Eval()
    {
        foreach (BatchNorm1d<float> norm in _norms)
        {
            norm.Eval();
        }
    }

    public void ZeroGrad()
    {
        foreach (Linear linear in _linears)
        {
            linear.ZeroGrad();
        }

        foreach (BatchNorm1d<float> norm in _norms)
        {
            norm.ZeroGrad();
        }
    }

    public void Step(SgdMomentum optimizer)
    {
        foreach (Linear linear in _linears)
        {
            linear.Step(optimizer);
        }

        for (int l = 0; l < _norms.Length; l++)
        {
            optimizer.Update(_norms[l].Weight, _norms[l].WeightGradient, _weightVelocity[l]);
            optimizer.Update(_norms[l].Bias, _norms[l].BiasGradient, _biasVelocity[l]);
        }
    }
}
