using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.IO;

namespace BatchNorm.Serialization;

/// <summary>Throws the safetensors reader's and writer's exceptions.</summary>
internal static class SafeTensorsThrowHelper
{
    [DoesNotReturn]
    public static void ThrowInvalidData(string message) =>
        throw new InvalidDataException(message);

    /// <summary>Throws an <see cref="InvalidDataException"/> that starts with the tensor's name.</summary>
    [DoesNotReturn]
    public static void ThrowInvalidTensor(string name, string problem) =>
        throw new InvalidDataException($"Tensor '{name}' {problem}");

    [DoesNotReturn]
    public static void ThrowTensorNotFound(string name) =>
        throw new KeyNotFoundException($"The file holds no tensor named '{name}'.");

    [DoesNotReturn]
    public static void ThrowNotSupportedType(Type type, string supported) =>
        throw new NotSupportedException($"Element type {type} is not supported; use {supported}.");
}
