using System;
using System.Numerics;
using Xunit;
using static BatchNorm.Tests.TestData;

namespace BatchNorm.Tests.Kernels;

/// <summary>The functional <see cref="BatchNormKernels"/> API on hand-computed values.</summary>
public abstract class KernelKnownValueTests<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [Fact]
    public void OneToFour_KernelStatistics_AreMeanTwoPointFiveAndBiasedVarianceOnePointTwoFive()
    {
        T[] x = Values<T>(1, 2, 3, 4);
        var y = new T[4];
        var mean = new double[1];
        var variance = new double[1];
        var invStd = new double[1];
        BatchNormKernels.ForwardTraining<T>(x, y, new BatchNormLayout(4, 1, 1), default, default, 1e-5, mean, variance, invStd);
        Assert.Equal(2.5, mean[0]);
        Assert.Equal(1.25, variance[0]);
        Assert.Equal(1 / Math.Sqrt(1.25 + 1e-5), invStd[0], Tolerances.ClosedFormDecimalPlaces);

        Array.Clear(mean);
        Array.Clear(variance);
        BatchNormKernels.ComputeStatistics<T>(x, new BatchNormLayout(1, 1, 4), mean, variance);
        Assert.Equal(2.5, mean[0]);
        Assert.Equal(1.25, variance[0]);
    }
}

public sealed class KernelKnownValueTestsFloat : KernelKnownValueTests<float>
{
}

public sealed class KernelKnownValueTestsDouble : KernelKnownValueTests<double>
{
}
