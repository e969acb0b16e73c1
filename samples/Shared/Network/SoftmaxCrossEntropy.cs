using System;

namespace BatchNorm.Samples.Network;

/// <summary>The mean softmax cross-entropy of a batch of logits (B, K) and its gradient.</summary>
public static class SoftmaxCrossEntropy
{
    /// <summary>
    /// Returns the mean of -log softmax(z_b)[label_b] over the batch, writes dL/dz = (softmax(z) - onehot(label)) / B
    /// into <paramref name="gradLogits"/> (unless it is empty) and counts the rows whose largest logit is the label.
    /// </summary>
    public static double Compute(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels, int classes, Span<float> gradLogits, out int correct)
    {
        int batch = labels.Length;
        double loss = 0;
        correct = 0;
        Span<double> probabilities = stackalloc double[classes];
        for (int b = 0; b < batch; b++)
        {
            ReadOnlySpan<float> z = logits.Slice(b * classes, classes);
            int argMax = 0;
            for (int k = 1; k < classes; k++)
            {
                if (z[k] > z[argMax])
                {
                    argMax = k;
                }
            }

            double sum = 0;
            for (int k = 0; k < classes; k++)
            {
                probabilities[k] = Math.Exp(z[k] - z[argMax]);
                sum += probabilities[k];
            }

            int label = labels[b];
            loss -= Math.Log(probabilities[label] / sum);
            correct += argMax == label ? 1 : 0;
            if (!gradLogits.IsEmpty)
            {
                for (int k = 0; k < classes; k++)
                {
                    double target = k == label ? 1 : 0;
                    gradLogits[(b * classes) + k] = (float)(((probabilities[k] / sum) - target) / batch);
                }
            }
        }

        return loss / batch;
    }
}
