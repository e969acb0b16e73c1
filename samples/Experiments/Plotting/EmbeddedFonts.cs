using System;
using System.IO;
using ScottPlot;
using SkiaSharp;

namespace Experiments.Plotting;

/// <summary>
/// The pictures' typeface, DejaVu Sans (a Latin, Greek and symbols subset, embedded in this assembly; see
/// Plotting/Fonts/README.md): registered with ScottPlot as its default font, so text renders the same on every machine,
/// including one with no fonts installed (the no-dependencies SkiaSharp build finds no system font there).
/// </summary>
public static class EmbeddedFonts
{
    public const string Family = "DejaVu Sans";

    private static readonly Lazy<bool> s_registered = new(RegisterOnce);

    /// <summary>Registers the font with ScottPlot (once per process).</summary>
    public static void Register() => _ = s_registered.Value;

    private static bool RegisterOnce()
    {
        var resolver = new Resolver(Load("DejaVuSans.ttf"), Load("DejaVuSans-Bold.ttf"));
        Fonts.FontResolvers.Insert(0, resolver);
        Fonts.Default = Family;
        Fonts.Sans = Family;
        return true;
    }

    private static SKTypeface Load(string file)
    {
        using Stream stream = typeof(EmbeddedFonts).Assembly.GetManifestResourceStream("Experiments.Fonts." + file)
            ?? throw new InvalidOperationException($"The font {file} is missing from the assembly.");
        return SKTypeface.FromStream(stream) ?? throw new InvalidOperationException($"SkiaSharp could not read the font {file}.");
    }

    private sealed class Resolver(SKTypeface regular, SKTypeface bold) : IFontResolver
    {
        public SKTypeface? CreateTypeface(string fontName, bool bold1, bool italic) =>
            fontName == Family ? (bold1 ? bold : regular) : null;

        public SKTypeface? CreateTypeface(string fontName, FontWeight weight, FontSlant slant, FontSpacing width) =>
            CreateTypeface(fontName, weight >= FontWeight.SemiBold, slant != FontSlant.Upright);
    }
}
