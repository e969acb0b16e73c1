using System;
using System.Globalization;
using BatchNorm;
using BatchNorm.Serialization;

namespace BatchNorm.SaveFileChild;

/// <summary>
/// The process that <c>tests/BatchNorm.Tests/Serialization/SafeTensorsSaveFileTests.cs</c> kills in the middle of a save:
/// <c>BatchNorm.SaveFileChild PATH MEGABYTES</c> saves a layer and a tensor of about that size to PATH with
/// <see cref="SafeTensorsWriter.SaveFile"/>, printing "writing" before and "saved" after.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length != 2 || !int.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out int megabytes) || megabytes < 1)
        {
            Console.Error.WriteLine("usage: BatchNorm.SaveFileChild PATH MEGABYTES");
            return 2;
        }

        var layer = new BatchNorm1d<float>(4);
        layer.Weight.Fill(2);
        var values = new float[megabytes * (1 << 20) / sizeof(float)];
        values.AsSpan().Fill(3);
        var writer = new SafeTensorsWriter();
        writer.AddLayer(layer, "bn.");
        writer.Add<float>("big", values, [values.Length]);
        Console.WriteLine("writing");
        writer.SaveFile(args[0]);
        Console.WriteLine("saved");
        return 0;
    }
}
