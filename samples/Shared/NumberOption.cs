using System;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;

namespace BatchNorm.Samples;

/// <summary>
/// How the samples parse a numeric option (one source file, compiled into each sample): the invariant culture, and a
/// value that is no number, or out of range, is a parse error naming the option and the value.
/// </summary>
internal static class NumberOption
{
    /// <summary>The option's last value, or <paramref name="fallback"/> when it has none or is no number.</summary>
    public static T Parse<T>(ArgumentResult result, string name, Func<T, bool> isValid, string expected, T fallback)
        where T : INumber<T>
    {
        if (result.Tokens.Count == 0)
        {
            return fallback;
        }

        bool integer = typeof(T) == typeof(int) || typeof(T) == typeof(long);
        string token = result.Tokens[^1].Value;
        if (!T.TryParse(token, integer ? NumberStyles.Integer : NumberStyles.Float, CultureInfo.InvariantCulture, out T? value))
        {
            result.AddError($"Option '{name}' expects {(integer ? "an integer" : "a number")}; got '{token}'.");
            return fallback;
        }

        if (!isValid(value))
        {
            result.AddError($"Option '{name}' must be {expected}; got '{token}'.");
        }

        return value;
    }
}
