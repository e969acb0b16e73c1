using System;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace BatchNorm.Kernels;

/// <summary>
/// The input gradient of a block, <c>a</c> being <c>dy</c>, <c>b</c> being <c>x</c> (not read in evaluation) and the
/// destination <c>dx</c>: run by run, or (short runs) row by row with per-element constants.
/// </summary>
internal readonly unsafe struct InputGradientPass<T>(bool training) : IBlockPass<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [SkipLocalsInit] // the column scratch is written before it is read, and only where S > 1
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Run(T* gradOutput, T* input, T* unused, T* gradInput, BatchNormLayout layout, ElementBlock block, in ChannelConstants<T> g)
    {
        (int n0, int n1, int c0, int width) = block;
        int s = layout.SpatialSize;
        long stride = (long)layout.Channels * s;
        long first = n0 * stride + (long)c0 * s;
        T* x = input + first, dy = gradOutput + first, dx = gradInput + first;
        if (!KernelPlan.UsesColumns<T>(layout))
        {
            T* a = g.Values(InputGradientCoefficients.A), center = g.Values(InputGradientCoefficients.Center), invStd = g.Values(InputGradientCoefficients.InvStd);
            T* k = g.Values(InputGradientCoefficients.K), d = g.Values(InputGradientCoefficients.D);
            double* wa = g.Wide(InputGradientCoefficients.A), mean = g.Wide(InputGradientCoefficients.Center), wi = g.Wide(InputGradientCoefficients.InvStd);
            double* wk = g.Wide(InputGradientCoefficients.K), wd = g.Wide(InputGradientCoefficients.D);
            for (int i = 0; i < n1 - n0; i++)
            {
                for (int j = 0; j < width; j++)
                {
                    long at = i * stride + j * s;
                    if (!g.Exact[j] && training)
                    {
                        RunDriver.ApplyScalar(new WideInputGradientOperator<T>(dy + at, x + at, wa[j], mean[j], wi[j], wk[j], wd[j]), dx + at, (nuint)s);
                    }
                    else if (!g.Exact[j])
                    {
                        // Evaluation: dx = (dy - 0) * a + 0, as the column loop's evaluation slots compute it.
                        RunDriver.ApplyScalar(new WideNormalizeOperator<T, PlainMode>(dy + at, wk[j], wa[j], wd[j], default), dx + at, (nuint)s);
                    }
                    else if (training)
                    {
                        RunDriver.Apply(new InputGradientOperator<T>(dy + at, x + at, a[j], center[j], invStd[j], k[j], d[j]), dx + at, (nuint)s);
                    }
                    else
                    {
                        TensorPrimitives.Multiply(new ReadOnlySpan<T>(dy + at, s), a[j], new Span<T>(dx + at, s));
                    }
                }
            }

            return;
        }

        // The column loops take their constants per element; for S = 1 those are the channels' own.
        int segment = width * s;
        Unsafe.SkipInit(out SegmentScratch<T> scratch);
        ChannelConstants<T> e = g.PerElement(width, s, ref scratch);

        var extent = new ColumnExtent(stride, n1 - n0, segment);
        if (training)
        {
            ColumnDriver.InputGradient(dy, x, dx, extent, e);
        }
        else
        {
            // Evaluation: dx = (dy - 0) * a + 0, the normalize loop with zero center and d.
            ColumnDriver.Normalize(dy, dx, extent, e, NormalizeSlots.Evaluation, default(Epilogue<T, PlainMode>));
        }
    }
}
