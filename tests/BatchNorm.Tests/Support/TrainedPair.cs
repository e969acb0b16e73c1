using System;
using System.Numerics;
using Xunit;
using static BatchNorm.Tests.TestData;

namespace BatchNorm.Tests;

/// <summary>
/// Two layers driven through the same steps: weight and bias set, two training Forward + Backward steps on
/// another batch size (with an SGD update in between), then the mode is set and a last good
/// <c>Forward(Input, Shape, Output)</c> leaves what Backward needs. A test makes one call fail on
/// <see cref="Layer"/> only; <see cref="ExpectFailure{TException}"/> then checks that nothing changed, and that
/// the next Backward and Forward agree bit for bit with <see cref="Twin"/>, which never saw the failed call. Both
/// layers take their data in the memory format given.
/// </summary>
public sealed class TrainedPair<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly T[] _twinOutput;

    /// <summary>The input of the last good Forward: Backward must be given it (the layer checks).</summary>
    private T[] _lastInput;

    public TrainedPair(
        int rank, bool training, bool affine = true, bool trackRunningStatistics = true, double? momentum = 0.1,
        BatchNormMemoryFormat format = BatchNormMemoryFormat.ChannelsFirst)
    {
        Rank = rank;
        Shape = MakeShape(rank, 4);
        int length = Length(Shape);
        Input = RandomValues<T>(length, seed: 11, center: 1.5, spread: 2);
        GradOutput = RandomValues<T>(length, seed: 12);
        Output = RandomValues<T>(length, seed: 13);
        _lastInput = Input;
        _twinOutput = (T[])Output.Clone();
        Layer = CreateLayer<T>(rank, Channels, 1e-3, momentum, affine, trackRunningStatistics);
        Twin = CreateLayer<T>(rank, Channels, 1e-3, momentum, affine, trackRunningStatistics);
        Layer.MemoryFormat = Twin.MemoryFormat = format;
        Prepare(Layer, training, Output);
        Prepare(Twin, training, _twinOutput);
        Expect.BitwiseEqual<T>(_twinOutput, Output, "twin outputs");
    }

    public int Rank { get; }

    public BatchNormBase<T> Layer { get; }

    public BatchNormBase<T> Twin { get; }

    public int[] Shape { get; }

    public T[] Input { get; }

    public T[] Output { get; }

    public T[] GradOutput { get; }

    /// <summary>
    /// Runs <paramref name="call"/> on <see cref="Layer"/>, expects <typeparamref name="TException"/> (or a subclass)
    /// naming <paramref name="paramName"/> (when not null) with every one of <paramref name="messageParts"/> in its
    /// message, and checks that the layer and <paramref name="watched"/> are bit-identical to before and that the
    /// layer still behaves exactly like <see cref="Twin"/>.
    /// </summary>
    public TException ExpectFailure<TException>(Action<BatchNormBase<T>> call, T[] watched, string? paramName, params string[] messageParts)
        where TException : Exception
    {
        var before = new LayerSnapshot<T>(Layer, watched);
        TException ex = Assert.ThrowsAny<TException>(() => call(Layer));
        if (paramName is not null)
        {
            ArgumentException argumentException = Assert.IsAssignableFrom<ArgumentException>(ex);
            Assert.Equal(paramName, argumentException.ParamName);
        }

        foreach (string part in messageParts)
        {
            Assert.Contains(part, ex.Message, StringComparison.Ordinal);
        }

        before.AssertSame(Layer, watched, "after the failed call");
        AssertStillMatchesTwin();
        return ex;
    }

    /// <summary>The next Backward (of the last good Forward) and a further Forward give what the twin's give.</summary>
    public void AssertStillMatchesTwin()
    {
        AssertBackwardMatchesTwin();
        AssertForwardMatchesTwin();
    }

    public void AssertBackwardMatchesTwin()
    {
        int length = Input.Length;
        var gradInput = new T[length];
        var twinGradInput = new T[length];
        Layer.Backward(_lastInput, Shape, GradOutput, gradInput);
        Twin.Backward(_lastInput, Shape, GradOutput, twinGradInput);
        Expect.BitwiseEqual<T>(twinGradInput, gradInput, "gradInput of the Backward after the failed call");
        Expect.BitwiseEqual<T>(Twin.WeightGradient, Layer.WeightGradient, "WeightGradient after that Backward");
        Expect.BitwiseEqual<T>(Twin.BiasGradient, Layer.BiasGradient, "BiasGradient after that Backward");
    }

    public void AssertForwardMatchesTwin()
    {
        int length = Input.Length;
        T[] input = RandomValues<T>(length, seed: 21, center: -0.5, spread: 3);
        var output = new T[length];
        var twinOutput = new T[length];
        Layer.Forward(input, Shape, output);
        Twin.Forward(input, Shape, twinOutput);
        Expect.BitwiseEqual<T>(twinOutput, output, "output of the Forward after the failed call");
        Expect.BitwiseEqual<T>(Twin.RunningMean, Layer.RunningMean, "RunningMean after that Forward");
        Expect.BitwiseEqual<T>(Twin.RunningVariance, Layer.RunningVariance, "RunningVariance after that Forward");
        Assert.Equal(Twin.NumBatchesTracked, Layer.NumBatchesTracked);
        _lastInput = input;
    }

    private void Prepare(BatchNormBase<T> layer, bool training, T[] output)
    {
        for (int c = 0; c < layer.Weight.Length; c++)
        {
            layer.Weight[c] = T.CreateChecked(0.75 + (0.5 * c));
            layer.Bias[c] = T.CreateChecked(0.25 - (0.5 * c));
        }

        int[] stepShape = MakeShape(Rank, 6);
        int stepLength = Length(stepShape);
        for (int step = 0; step < 2; step++)
        {
            T[] x = RandomValues<T>(stepLength, seed: 100 + step, center: step - 0.5, spread: 1 + step);
            T[] dy = RandomValues<T>(stepLength, seed: 200 + step);
            var y = new T[stepLength];
            var dx = new T[stepLength];
            layer.Forward(x, stepShape, y);
            layer.Backward(x, stepShape, dy, dx);
            for (int c = 0; c < layer.Weight.Length; c++)
            {
                layer.Weight[c] -= T.CreateChecked(0.1) * layer.WeightGradient[c];
                layer.Bias[c] -= T.CreateChecked(0.1) * layer.BiasGradient[c];
            }
        }

        layer.Train(training);
        layer.Forward(Input, Shape, output);
    }
}
