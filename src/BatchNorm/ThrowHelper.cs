using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.IO;

namespace BatchNorm;

/// <summary>Throws the library's exceptions; one place so the hot paths stay small.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void ThrowArgument(string paramName, string message) =>
        throw new ArgumentException(message, paramName);

    [DoesNotReturn]
    public static void ThrowArgumentOutOfRange(string paramName, object? actualValue, string message) =>
        throw new ArgumentOutOfRangeException(paramName, actualValue, message);

    [DoesNotReturn]
    public static void ThrowInvalidOperation(string message) =>
        throw new InvalidOperationException(message);

    [DoesNotReturn]
    public static void ThrowNotSupported(string message) =>
        throw new NotSupportedException(message);

    [DoesNotReturn]
    public static void ThrowLengthMismatch(string paramName, long expected, long actual) =>
        throw new ArgumentException($"Expected a span of length {expected}, but got length {actual}.", paramName);

    [DoesNotReturn]
    public static void ThrowPartialOverlap(string paramName, string otherName) =>
        throw new ArgumentException(
            $"'{paramName}' must either be exactly the same memory as '{otherName}' or not overlap it; it overlaps partially.",
            paramName);

    [DoesNotReturn]
    public static void ThrowSharedMemory(string paramName, string otherName) =>
        throw new ArgumentException($"'{paramName}' must not share memory with '{otherName}', but they overlap.", paramName);

    [DoesNotReturn]
    public static void ThrowNotSupportedType(Type type, string supported = "float or double") =>
        throw new NotSupportedException($"Element type {type} is not supported; use {supported}.");

    [DoesNotReturn]
    public static void ThrowTooFewValues(string paramName, long valuesPerChannel) =>
        throw new ArgumentException(
            $"Expected more than 1 value per channel when using batch statistics, but got {valuesPerChannel} (batch size times spatial size).",
            paramName);

    /// <summary>Throws the <see cref="InvalidDataException"/> of a bad checkpoint file.</summary>
    [DoesNotReturn]
    public static void ThrowInvalidData(string message) =>
        throw new InvalidDataException(message);

    /// <summary>Throws an <see cref="InvalidDataException"/> that starts with the tensor's name (<see cref="Abbreviate"/>d).</summary>
    [DoesNotReturn]
    public static void ThrowInvalidTensor(string name, string problem) =>
        throw new InvalidDataException($"Tensor '{Abbreviate(name)}' {problem}");

    /// <summary>
    /// A name from an untrusted file as a message quotes it: at most 200 characters (never half a surrogate pair), then
    /// "… (N characters)", so a hostile header cannot make every message as long as itself.
    /// </summary>
    public static string Abbreviate(string text)
    {
        const int MaxQuoted = 200;
        if (text.Length <= MaxQuoted)
        {
            return text;
        }

        int cut = char.IsHighSurrogate(text[MaxQuoted - 1]) ? MaxQuoted - 1 : MaxQuoted;
        return string.Concat(text.AsSpan(0, cut), $"… ({text.Length} characters)");
    }

    [DoesNotReturn]
    public static void ThrowTensorNotFound(string name) =>
        throw new KeyNotFoundException($"The file holds no tensor named '{name}'.");
}
