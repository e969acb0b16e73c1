namespace BatchNorm;

/// <summary>
/// How a tensor of logical shape <c>(N, C, d1, …, dk)</c> lies in memory: PyTorch's <c>torch.contiguous_format</c> or
/// <c>torch.channels_last</c> / <c>torch.channels_last_3d</c>.
/// </summary>
/// <remarks>
/// The shape passed to the layers and to <see cref="BatchNormLayout.FromShape(System.ReadOnlySpan{int}, BatchNormMemoryFormat)"/>
/// is always the logical one; the format says where element <c>(n, c, s)</c> is. For <c>(N, C)</c> data both formats are
/// the same bytes and give the same results.
/// </remarks>
public enum BatchNormMemoryFormat
{
    /// <summary>Row-major <c>(N, C, d1, …, dk)</c>: each channel's values of one sample are contiguous (element <c>(n * C + c) * S + s</c>).</summary>
    ChannelsFirst,

    /// <summary>Row-major <c>(N, d1, …, dk, C)</c>: the channels of one position are contiguous (element <c>(n * S + s) * C + c</c>).</summary>
    ChannelsLast,
}
