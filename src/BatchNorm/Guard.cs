using System;
using System.Runtime.CompilerServices;

namespace BatchNorm;

/// <summary>
/// The argument checks shared by kernels, layers, folding and communicators: lengths, overlap and aliasing, element
/// type and epsilon. Each names the offending argument (by the expression the caller passed, so no <c>nameof</c> pairs)
/// and throws through <see cref="ThrowHelper"/>; none allocates on success.
/// </summary>
internal static class Guard
{
    /// <summary>Throws unless <typeparamref name="T"/> is <see cref="float"/> or <see cref="double"/>.</summary>
    public static void SupportedType<T>()
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
        {
            ThrowHelper.ThrowNotSupportedType(typeof(T));
        }
    }

    /// <summary>Throws unless <paramref name="epsilon"/> is zero or more (not NaN).</summary>
    public static void Epsilon(double epsilon, [CallerArgumentExpression(nameof(epsilon))] string name = "")
    {
        if (!(epsilon >= 0))
        {
            ThrowHelper.ThrowArgumentOutOfRange(name, epsilon, "Expected a value of zero or more, not NaN.");
        }
    }

    /// <summary>Throws unless <paramref name="value"/> is a named value of its enum.</summary>
    public static void Defined<TEnum>(TEnum value, [CallerArgumentExpression(nameof(value))] string name = "")
        where TEnum : struct, Enum
    {
        if (!Enum.IsDefined(value))
        {
            ThrowHelper.ThrowArgumentOutOfRange(name, value, $"Expected {string.Join(", ", Enum.GetNames<TEnum>())}.");
        }
    }

    /// <summary>Throws unless <paramref name="span"/> has <paramref name="expected"/> elements.</summary>
    public static void Length<T>(ReadOnlySpan<T> span, long expected, [CallerArgumentExpression(nameof(span))] string name = "")
    {
        if (span.Length != expected)
        {
            ThrowHelper.ThrowLengthMismatch(name, expected, span.Length);
        }
    }

    /// <summary>Throws unless <paramref name="span"/> is empty or has <paramref name="expected"/> elements.</summary>
    public static void OptionalLength<T>(ReadOnlySpan<T> span, long expected, [CallerArgumentExpression(nameof(span))] string name = "")
    {
        if (!span.IsEmpty && span.Length != expected)
        {
            ThrowHelper.ThrowLengthMismatch(name, expected, span.Length);
        }
    }

    /// <summary>Throws unless <paramref name="destination"/> is exactly <paramref name="source"/>'s memory or disjoint from it.</summary>
    public static void SameOrApart<TSource, TDestination>(
        ReadOnlySpan<TSource> source,
        ReadOnlySpan<TDestination> destination,
        [CallerArgumentExpression(nameof(source))] string sourceName = "",
        [CallerArgumentExpression(nameof(destination))] string destinationName = "")
    {
        if (Overlaps(source, destination) && !Identical(source, destination))
        {
            ThrowHelper.ThrowPartialOverlap(destinationName, sourceName);
        }
    }

    /// <summary>Throws unless <paramref name="destination"/> and <paramref name="source"/> share no memory.</summary>
    public static void Apart<TSource, TDestination>(
        ReadOnlySpan<TSource> source,
        ReadOnlySpan<TDestination> destination,
        [CallerArgumentExpression(nameof(source))] string sourceName = "",
        [CallerArgumentExpression(nameof(destination))] string destinationName = "")
    {
        if (Overlaps(source, destination))
        {
            ThrowHelper.ThrowSharedMemory(destinationName, sourceName);
        }
    }

    /// <summary>Throws unless <paramref name="written"/> shares no memory with <paramref name="first"/> or <paramref name="second"/>.</summary>
    public static void Apart<TWritten, TFirst, TSecond>(
        ReadOnlySpan<TWritten> written,
        ReadOnlySpan<TFirst> first,
        ReadOnlySpan<TSecond> second,
        [CallerArgumentExpression(nameof(written))] string writtenName = "",
        [CallerArgumentExpression(nameof(first))] string firstName = "",
        [CallerArgumentExpression(nameof(second))] string secondName = "")
    {
        Apart(first, written, firstName, writtenName);
        Apart(second, written, secondName, writtenName);
    }

    private static bool Overlaps<TSource, TDestination>(ReadOnlySpan<TSource> source, ReadOnlySpan<TDestination> destination)
    {
        if (source.IsEmpty || destination.IsEmpty)
        {
            return false;
        }

        long offset = Offset(source, destination);
        return offset < (long)source.Length * Unsafe.SizeOf<TSource>() && -offset < (long)destination.Length * Unsafe.SizeOf<TDestination>();
    }

    private static bool Identical<TSource, TDestination>(ReadOnlySpan<TSource> source, ReadOnlySpan<TDestination> destination) =>
        typeof(TSource) == typeof(TDestination) && source.Length == destination.Length && Offset(source, destination) == 0;

    /// <summary>The byte offset of <paramref name="destination"/>'s start from <paramref name="source"/>'s; both non-empty.</summary>
    private static long Offset<TSource, TDestination>(ReadOnlySpan<TSource> source, ReadOnlySpan<TDestination> destination) =>
        (long)Unsafe.ByteOffset(
            ref Unsafe.As<TSource, byte>(ref Unsafe.AsRef(in source[0])),
            ref Unsafe.As<TDestination, byte>(ref Unsafe.AsRef(in destination[0])));
}
