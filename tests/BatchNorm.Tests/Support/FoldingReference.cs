using System;

namespace BatchNorm.Tests;

/// <summary>Plain double-precision references for the folding tests: matmul, grouped 2d convolution, eval batch norm.</summary>
internal static class FoldingReference
{
    /// <summary><c>y[n, o] = Σ_i x[n, i] * w[o, i] + b[o]</c>; <paramref name="bias"/> may be empty.</summary>
    public static double[] Linear(double[] x, int batch, int inFeatures, double[] weight, int outFeatures, double[] bias)
    {
        var y = new double[batch * outFeatures];
        for (int n = 0; n < batch; n++)
        {
            for (int o = 0; o < outFeatures; o++)
            {
                double sum = bias.Length == 0 ? 0 : bias[o];
                for (int i = 0; i < inFeatures; i++)
                {
                    sum += x[(n * inFeatures) + i] * weight[(o * inFeatures) + i];
                }

                y[(n * outFeatures) + o] = sum;
            }
        }

        return y;
    }

    /// <summary>
    /// A direct 2d convolution of x <c>(N, Cin, H, W)</c> with weight <c>(Cout, Cin / groups, KH, KW)</c>, zero padding,
    /// stride; output <c>(N, Cout, OH, OW)</c>. <paramref name="bias"/> may be empty.
    /// </summary>
    public static double[] Conv2d(
        double[] x, int batch, int inChannels, int height, int width,
        double[] weight, int outChannels, int kernelHeight, int kernelWidth, double[] bias,
        int groups, int stride, int padding, out int outHeight, out int outWidth)
    {
        int oh = ((height + (2 * padding) - kernelHeight) / stride) + 1;
        int ow = ((width + (2 * padding) - kernelWidth) / stride) + 1;
        int inPerGroup = inChannels / groups;
        int outPerGroup = outChannels / groups;
        var y = new double[batch * outChannels * oh * ow];
        for (int n = 0; n < batch; n++)
        {
            for (int o = 0; o < outChannels; o++)
            {
                int group = o / outPerGroup;
                for (int r = 0; r < oh; r++)
                {
                    for (int s = 0; s < ow; s++)
                    {
                        double sum = bias.Length == 0 ? 0 : bias[o];
                        for (int ci = 0; ci < inPerGroup; ci++)
                        {
                            int channel = (group * inPerGroup) + ci;
                            for (int kr = 0; kr < kernelHeight; kr++)
                            {
                                int row = (r * stride) + kr - padding;
                                if (row < 0 || row >= height)
                                {
                                    continue;
                                }

                                for (int ks = 0; ks < kernelWidth; ks++)
                                {
                                    int column = (s * stride) + ks - padding;
                                    if (column < 0 || column >= width)
                                    {
                                        continue;
                                    }

                                    double xv = x[(((n * inChannels) + channel) * height + row) * width + column];
                                    double wv = weight[(((o * inPerGroup) + ci) * kernelHeight + kr) * kernelWidth + ks];
                                    sum += xv * wv;
                                }
                            }
                        }

                        y[(((n * outChannels) + o) * oh + r) * ow + s] = sum;
                    }
                }
            }
        }

        outHeight = oh;
        outWidth = ow;
        return y;
    }

    /// <summary>
    /// Eval batch norm of y <c>(N, C, S)</c>: <c>(y - mean) / sqrt(var + eps) * gamma + beta</c>; empty gamma and beta
    /// mean 1 and 0.
    /// </summary>
    public static double[] BatchNormEval(
        double[] y, int batch, int channels, int spatial, double[] mean, double[] variance, double epsilon, double[] gamma, double[] beta)
    {
        var z = new double[y.Length];
        for (int n = 0; n < batch; n++)
        {
            for (int c = 0; c < channels; c++)
            {
                double g = gamma.Length == 0 ? 1 : gamma[c];
                double b = beta.Length == 0 ? 0 : beta[c];
                double invStd = 1 / Math.Sqrt(variance[c] + epsilon);
                for (int s = 0; s < spatial; s++)
                {
                    int i = (((n * channels) + c) * spatial) + s;
                    z[i] = ((y[i] - mean[c]) * invStd * g) + b;
                }
            }
        }

        return z;
    }
}
